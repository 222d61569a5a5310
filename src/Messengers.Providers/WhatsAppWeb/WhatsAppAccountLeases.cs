using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>The outcome of taking or renewing a lease: held by us until <see cref="ExpiresAt"/>, or by <see cref="HolderSilo"/>.</summary>
public sealed record LeaseAttempt(bool Acquired, string HolderSilo, DateTimeOffset ExpiresAt);

/// <summary>
/// One driver per WhatsApp account across silos: two browsers logged in to the same account make WhatsApp log one of
/// them out, so a silo drives an instance only while it holds that instance's lease.
/// </summary>
public interface IWhatsAppAccountLeases
{
    /// <summary>The silo this process is, as other silos see it in a lease.</summary>
    string SiloName { get; }

    /// <summary>Takes the lease of <paramref name="instanceId"/> for <paramref name="duration"/>, or renews it when we hold it.</summary>
    Task<LeaseAttempt> TryAcquireAsync(string instanceId, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives the lease up when we hold it, so another silo can take over at once.</summary>
    Task ReleaseAsync(string instanceId, CancellationToken cancellationToken);
}

/// <summary>The stored lease: a holder token unique to one process, that process's silo name, and the expiry.</summary>
[GenerateSerializer, Alias("messengers.AccountLeaseRecord")]
public sealed class AccountLeaseRecord
{
    [Id(0)] public string Holder { get; set; } = "";

    [Id(1)] public string Silo { get; set; } = "";

    [Id(2)] public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>
/// Leases in grain storage (state name "wa-lease", grain id <c>instance/{id}</c>), taken atomically with the storage's
/// etag: creating a record fails when one exists and a write with a stale etag fails, so of two silos racing for a free
/// or expired lease exactly one wins. Expiry is judged on each silo's own clock, so clocks must agree to well within a
/// lease duration.
/// </summary>
public sealed class GrainStorageWhatsAppAccountLeases(IGrainStorage storage, string siloName, TimeProvider time) : IWhatsAppAccountLeases
{
    public const string StateName = "wa-lease";

    private const int Attempts = 3;

    /// <summary>Unique to this process (and this pool of connections), even when two silos share a name.</summary>
    private readonly string _holder = Guid.NewGuid().ToString("N");

    public string SiloName { get; } = siloName;

    private static GrainId IdOf(string instanceId) => GrainId.Create("instance", instanceId);

    public async Task<LeaseAttempt> TryAcquireAsync(string instanceId, TimeSpan duration, CancellationToken cancellationToken)
    {
        var id = IdOf(instanceId);
        for (var attempt = 1; ; attempt++)
        {
            var state = new GrainState<AccountLeaseRecord>(new AccountLeaseRecord());
            await storage.ReadStateAsync(StateName, id, state, cancellationToken);
            var now = time.GetUtcNow();
            if (state.RecordExists && state.State is { } held && held.Holder != _holder && held.ExpiresAt > now)
            {
                return new LeaseAttempt(false, held.Silo, held.ExpiresAt);
            }

            state.State = new AccountLeaseRecord { Holder = _holder, Silo = SiloName, ExpiresAt = now + duration };
            try
            {
                await storage.WriteStateAsync(StateName, id, state, cancellationToken);
                return new LeaseAttempt(true, SiloName, state.State.ExpiresAt);
            }
            catch (InconsistentStateException) when (attempt < Attempts)
            {
                // another silo wrote in between: read again and see who holds it now
            }
        }
    }

    public async Task ReleaseAsync(string instanceId, CancellationToken cancellationToken)
    {
        var id = IdOf(instanceId);
        var state = new GrainState<AccountLeaseRecord>(new AccountLeaseRecord());
        await storage.ReadStateAsync(StateName, id, state, cancellationToken);
        if (!state.RecordExists || state.State?.Holder != _holder)
        {
            return;
        }

        try
        {
            await storage.ClearStateAsync(StateName, id, state, cancellationToken);
        }
        catch (InconsistentStateException)
        {
            // taken over after it expired: it is not ours to clear any more
        }
    }
}
