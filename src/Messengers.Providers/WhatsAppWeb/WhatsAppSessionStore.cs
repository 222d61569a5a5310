using Messengers.Abstractions.Security;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>Where the authenticated browser state of an instance (cookies, localStorage, IndexedDB) is kept between runs.</summary>
public interface IWhatsAppSessionStore
{
    /// <summary>The Playwright storage state JSON, or null when the instance has no saved session.</summary>
    Task<string?> LoadAsync(string instanceId, CancellationToken cancellationToken);

    Task SaveAsync(string instanceId, string storageStateJson, CancellationToken cancellationToken);

    Task ClearAsync(string instanceId, CancellationToken cancellationToken);
}

/// <summary>The stored record: the storage state, encrypted.</summary>
[GenerateSerializer, Alias("messengers.WhatsAppSessionRecord")]
public sealed class WhatsAppSessionRecord
{
    [Id(0)] public string ProtectedState { get; set; } = "";

    [Id(1)] public DateTimeOffset SavedAt { get; set; }
}

/// <summary>
/// Sessions in grain storage (PostgreSQL or SQLite in a host) under state name "wa-session" and the instance's grain id,
/// encrypted with <see cref="ISecretProtector"/>, so an instance can resume on any silo without a new QR.
/// </summary>
public sealed class GrainStorageWhatsAppSessionStore(IGrainStorage storage, ISecretProtector secrets, TimeProvider time) : IWhatsAppSessionStore
{
    public const string StateName = "wa-session";

    private static GrainId IdOf(string instanceId) => GrainId.Create("instance", instanceId);

    public async Task<string?> LoadAsync(string instanceId, CancellationToken cancellationToken)
    {
        var state = new GrainState<WhatsAppSessionRecord>(new WhatsAppSessionRecord());
        await storage.ReadStateAsync(StateName, IdOf(instanceId), state, cancellationToken);
        return state.RecordExists && state.State is { ProtectedState.Length: > 0 } record ? secrets.Unprotect(record.ProtectedState) : null;
    }

    public Task SaveAsync(string instanceId, string storageStateJson, CancellationToken cancellationToken)
        => WithFreshEtagAsync(instanceId, (id, state) =>
        {
            state.State = new WhatsAppSessionRecord { ProtectedState = secrets.Protect(storageStateJson), SavedAt = time.GetUtcNow() };
            return storage.WriteStateAsync(StateName, id, state, cancellationToken);
        }, cancellationToken);

    public Task ClearAsync(string instanceId, CancellationToken cancellationToken)
        => WithFreshEtagAsync(instanceId, (id, state) => state.RecordExists ? storage.ClearStateAsync(StateName, id, state, cancellationToken) : Task.CompletedTask, cancellationToken);

    /// <summary>
    /// Reads the record's etag and runs <paramref name="change"/>; a periodic save and a logout can race, so a change
    /// that lost to the other one reads again and retries (the last one wins, as the caller intends).
    /// </summary>
    private async Task WithFreshEtagAsync(string instanceId, Func<GrainId, GrainState<WhatsAppSessionRecord>, Task> change, CancellationToken cancellationToken)
    {
        var id = IdOf(instanceId);
        for (var attempt = 1; ; attempt++)
        {
            var state = new GrainState<WhatsAppSessionRecord>(new WhatsAppSessionRecord());
            await storage.ReadStateAsync(StateName, id, state, cancellationToken);
            try
            {
                await change(id, state);
                return;
            }
            catch (InconsistentStateException) when (attempt < 5)
            {
            }
        }
    }
}
