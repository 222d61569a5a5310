using System.Data;
using Messengers.Runtime.Serialization;
using Npgsql;

namespace Messengers.Runtime.Storage.Postgres;

/// <summary>
/// Grain storage in the PostgreSQL table <c>grain_state</c> (sql/postgres/001_grain_state.sql): the state as JSONB
/// serialized with <see cref="GrainJson"/>, an etag that changes on every write, and the etag semantics of
/// <see cref="MemoryGrainStorage"/>: a write without etag inserts and conflicts with an existing row, a write or
/// clear with an etag succeeds only while the stored etag is the same. Concurrent writes are sent together in one
/// round trip and transaction (<see cref="PostgresStateWriter"/>), each with its own etag check and outcome.
/// </summary>
public sealed class PostgresGrainStorage : IGrainStorage, IAsyncDisposable, IDisposable
{
    private const string ReadSql = "SELECT payload, etag FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3";
    private const string EtagSql = "SELECT etag FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3";

    private readonly PostgresDatabase _database;
    private readonly PostgresStateWriter _writer;

    public PostgresGrainStorage(string name, PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(database);
        Name = name;
        _database = database;
        _writer = new PostgresStateWriter(database);
    }

    public string Name { get; }

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        await _database.EnsureMigratedAsync(cancellationToken);
        var (payload, etag) = await _database.RunAsync(new StorageOperation("reading", stateName, grainId), async (connection, _, ct) =>
        {
            await using var command = Command(connection, ReadSql, stateName, grainId);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, ct);
            return await reader.ReadAsync(ct) ? (reader.GetString(0), reader.GetString(1)) : ((string?)null, (string?)null);
        }, cancellationToken);

        StorageRecordNames.Load(grainState, payload, etag);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        await _database.EnsureMigratedAsync(cancellationToken);
        var expected = grainState.ETag;
        var next = StorageRecordNames.NextEtag();
        var change = new PostgresStateWriter.StateChange(
            new StorageOperation("writing", stateName, grainId), expected, next, StorageRecordNames.StateType<T>(), GrainJson.Serialize(grainState.State), _database.Time.GetUtcNow(), cancellationToken);
        var (written, stored) = await _writer.EnqueueAsync(change);
        if (!written)
        {
            throw InconsistentStateException.Conflict(stateName, grainId, stored, expected);
        }

        grainState.ETag = next;
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        await _database.EnsureMigratedAsync(cancellationToken);
        var expected = grainState.ETag;
        var operation = new StorageOperation("clearing", stateName, grainId);
        bool cleared;
        string? stored;
        if (expected is null)
        {
            // Nothing to delete; succeed only if there is no record, as the memory storage does.
            stored = await _database.RunAsync(operation, (connection, _, ct) => StoredEtagAsync(connection, stateName, grainId, ct), cancellationToken);
            cleared = stored is null;
        }
        else
        {
            (cleared, stored) = await _writer.EnqueueAsync(new PostgresStateWriter.StateChange(operation, expected, null, null, null, default, cancellationToken));
        }

        if (!cleared)
        {
            throw InconsistentStateException.Conflict(stateName, grainId, stored, expected);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>Sends the queued writes and stops the batching loops.</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    public void Dispose() => _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static async Task<string?> StoredEtagAsync(NpgsqlConnection connection, string stateName, GrainId grainId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, EtagSql, stateName, grainId);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, string stateName, GrainId grainId)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.Type });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainId.Key });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateName });
        return command;
    }
}
