using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Storage;

namespace Messengers.Data.Postgres;

/// <summary>
/// Orleans' ADO.NET grain storage on PostgreSQL, made to ride out a database restart. Npgsql hands out pooled
/// connections without checking them, so after a restart every idle connection of the pool fails its next command
/// once ("Exception while reading from stream"), and every grain write on one of them would fail with it. On such a
/// connection failure the pools are emptied and the operation is tried once more on a fresh connection; a second
/// failure is the caller's (the database is really down). A write whose commit the failure hid is refused on the retry
/// as a stale etag, after which Orleans reads the state again, so nothing is written twice.
/// </summary>
public sealed partial class ReconnectingGrainStorage(AdoNetGrainStorage inner, ILogger<ReconnectingGrainStorage> logger)
    : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => RetryOnceAsync(() => inner.ReadStateAsync(stateName, grainId, grainState), "read", stateName, grainId);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => RetryOnceAsync(() => inner.WriteStateAsync(stateName, grainId, grainState), "write", stateName, grainId);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        => RetryOnceAsync(() => inner.ClearStateAsync(stateName, grainId, grainState), "clear", stateName, grainId);

    public void Participate(ISiloLifecycle lifecycle) => inner.Participate(lifecycle);

    private async Task RetryOnceAsync(Func<Task> operation, string what, string stateName, GrainId grainId)
    {
        try
        {
            await operation();
        }
        catch (Exception exception) when (IsConnectionFailure(exception))
        {
            NpgsqlConnection.ClearAllPools();
            LogRetrying(logger, what, stateName, grainId, exception.Message);
            await operation();
        }
    }

    private static bool IsConnectionFailure(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (PostgresDatabase.IsConnectionFailure(current))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain state {Operation} of {StateName} for {GrainId} lost its PostgreSQL connection ({Error}); trying once more on a fresh one")]
    private static partial void LogRetrying(ILogger logger, string operation, string stateName, GrainId grainId, string error);
}
