using System.Data;
using Messengers.Runtime.Serialization;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Runtime.Storage.Postgres;

/// <summary>
/// Grain storage in the PostgreSQL table <c>grain_state</c> (sql/postgres/001_grain_state.sql): the state as JSONB
/// serialized with <see cref="GrainJson"/>, an etag that changes on every write, and the etag semantics of
/// <see cref="MemoryGrainStorage"/>: a write without etag inserts and conflicts with an existing row, a write or
/// clear with an etag succeeds only while the stored etag is the same.
/// </summary>
public sealed class PostgresGrainStorage : IGrainStorage
{
    private const string ReadSql = "SELECT payload, etag FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3";
    private const string EtagSql = "SELECT etag FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3";
    private const string InsertSql = """
        INSERT INTO grain_state (grain_type, grain_key, state_name, state_type, payload, etag, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT DO NOTHING
        """;
    private const string UpdateSql = """
        UPDATE grain_state SET state_type = $4, payload = $5, etag = $6, updated_at = $7
        WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3 AND etag = $8
        """;
    private const string DeleteSql = "DELETE FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3 AND etag = $4";

    private readonly PostgresDatabase _database;

    public PostgresGrainStorage(string name, PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(database);
        Name = name;
        _database = database;
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

        if (payload is null)
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.State = GrainJson.Deserialize<T>(payload);
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        await _database.EnsureMigratedAsync(cancellationToken);
        var payload = GrainJson.Serialize(grainState.State);
        var stateType = StorageRecordNames.StateType<T>();
        var expected = grainState.ETag;
        var next = StorageRecordNames.NextEtag();
        var now = _database.Time.GetUtcNow();
        var (written, stored) = await _database.RunAsync(new StorageOperation("writing", stateName, grainId), async (connection, attempt, ct) =>
        {
            await using var command = Command(connection, expected is null ? InsertSql : UpdateSql, stateName, grainId);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateType });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload, NpgsqlDbType = NpgsqlDbType.Jsonb });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = next });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            if (expected is not null)
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = expected });
            }

            if (await command.ExecuteNonQueryAsync(ct) == 1)
            {
                return (true, (string?)null);
            }

            var current = await StoredEtagAsync(connection, stateName, grainId, ct);
            // On a retry the first attempt may have committed before its connection broke: our own etag proves it.
            return (attempt > 1 && current == next, current);
        }, cancellationToken);

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
        var (cleared, stored) = await _database.RunAsync(new StorageOperation("clearing", stateName, grainId), async (connection, attempt, ct) =>
        {
            if (expected is null)
            {
                var existing = await StoredEtagAsync(connection, stateName, grainId, ct);
                return (existing is null, existing);
            }

            await using var command = Command(connection, DeleteSql, stateName, grainId);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = expected });
            if (await command.ExecuteNonQueryAsync(ct) == 1)
            {
                return (true, (string?)null);
            }

            var current = await StoredEtagAsync(connection, stateName, grainId, ct);
            // On a retry a missing row is most likely our own delete from the first attempt.
            return (attempt > 1 && current is null, current);
        }, cancellationToken);

        if (!cleared)
        {
            throw InconsistentStateException.Conflict(stateName, grainId, stored, expected);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
    }

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
