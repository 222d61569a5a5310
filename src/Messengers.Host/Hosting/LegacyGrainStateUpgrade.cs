using System.Text.Json;
using System.Text.Json.Serialization;
using Messengers.Abstractions;
using Messengers.Data.Migrations;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Messengers.Grains.Instances;
using Messengers.Providers.Telegram;
using Messengers.Providers.WhatsAppWeb;
using Orleans.Storage;

namespace Messengers.Host.Hosting;

/// <summary>
/// Carries the grain state of a data folder or database made by a version before Orleans (JSON rows of
/// <c>grain_state</c>) into Orleans' grain storage, once, when this silo starts and before it serves a request:
/// instances with their encrypted credentials, keys and counters, the instance list, chats' human takeover, Telegram
/// webhook secrets and WhatsApp sessions. Account leases are not carried: they expire within seconds anyway.
/// Each row is written over whatever the new storage holds, so a start that died half-way simply does it again.
/// </summary>
public sealed partial class LegacyGrainStateUpgrade(IServiceProvider services, ILogger<LegacyGrainStateUpgrade> logger) : IHostedService
{
    // The JSON shape the previous version stored: web defaults (camelCase), enums as strings.
    private static readonly JsonSerializerOptions LegacyJson = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var table = services.GetService<PostgresDatabase>() is { } postgres ? new LegacyGrainStateTable(postgres) : new LegacyGrainStateTable(services.GetRequiredService<SqliteDatabase>());
        var rows = await table.ClaimAsync(cancellationToken);
        if (rows.Count > 0)
        {
            var storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
            var copied = 0;
            foreach (var row in rows)
            {
                if (await CopyAsync(storage, row, cancellationToken))
                {
                    copied++;
                }
            }

            LogUpgraded(logger, copied, rows.Count - copied);
        }

        await table.FinishAsync(rows.Count > 0, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Task<bool> CopyAsync(IGrainStorage storage, LegacyGrainStateRow row, CancellationToken cancellationToken) => row.StateName switch
    {
        InstanceGrain.StateName => CopyAsync<InstanceState>(storage, row, cancellationToken),
        InstanceRegistryGrain.StateName => CopyAsync<InstanceRegistryState>(storage, row, cancellationToken),
        ChatSessionGrain.StateName => CopyAsync<ChatSessionState>(storage, row, cancellationToken),
        TelegramWebhookGrain.StateName => CopyAsync<TelegramWebhookState>(storage, row, cancellationToken),
        GrainStorageWhatsAppSessionStore.StateName => CopyAsync<WhatsAppSessionRecord>(storage, row, cancellationToken),
        _ => Skipped(row),
    };

    private Task<bool> Skipped(LegacyGrainStateRow row)
    {
        LogSkipped(logger, row.StateName, row.GrainType);
        return Task.FromResult(false);
    }

    private static async Task<bool> CopyAsync<T>(IGrainStorage storage, LegacyGrainStateRow row, CancellationToken cancellationToken)
        where T : class, new()
    {
        var state = JsonSerializer.Deserialize<T>(row.Payload, LegacyJson) ?? new T();
        var grainId = GrainId.Create(row.GrainType, row.GrainKey);
        var stored = new GrainState<T>(new T());
        await storage.ReadStateAsync(row.StateName, grainId, stored, cancellationToken); // its etag, when a half-done upgrade wrote it
        stored.State = state;
        await storage.WriteStateAsync(row.StateName, grainId, stored, cancellationToken);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Carried {Copied} grain state rows of the previous version into Orleans' grain storage ({Skipped} not needed any more)")]
    private static partial void LogUpgraded(ILogger logger, int copied, int skipped);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Grain state '{StateName}' of {GrainType} is not carried over")]
    private static partial void LogSkipped(ILogger logger, string stateName, string grainType);
}
