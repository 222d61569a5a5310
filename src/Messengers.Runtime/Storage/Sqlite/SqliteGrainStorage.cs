using System.Globalization;
using Messengers.Runtime.Serialization;
using Microsoft.Data.Sqlite;

namespace Messengers.Runtime.Storage.Sqlite;

/// <summary>
/// Grain storage in the SQLite table <c>grain_state</c> (sql/sqlite/001_grain_state.sql) with the etag semantics of
/// <see cref="MemoryGrainStorage"/>. Reads use pooled reader connections; writes and clears go through the single
/// writer of <see cref="SqliteDatabase"/>, which commits concurrent writes together.
/// </summary>
public sealed class SqliteGrainStorage : IGrainStorage
{
    private const string ReadSql = "SELECT payload, etag FROM grain_state WHERE grain_type = $type AND grain_key = $key AND state_name = $name";
    private const string EtagSql = "SELECT etag FROM grain_state WHERE grain_type = $type AND grain_key = $key AND state_name = $name";
    private const string InsertSql = """
        INSERT INTO grain_state (grain_type, grain_key, state_name, state_type, payload, etag, updated_at)
        VALUES ($type, $key, $name, $stateType, $payload, $etag, $at)
        ON CONFLICT DO NOTHING
        """;
    private const string UpdateSql = """
        UPDATE grain_state SET state_type = $stateType, payload = $payload, etag = $etag, updated_at = $at
        WHERE grain_type = $type AND grain_key = $key AND state_name = $name AND etag = $expected
        """;
    private const string DeleteSql = "DELETE FROM grain_state WHERE grain_type = $type AND grain_key = $key AND state_name = $name AND etag = $expected";

    private readonly SqliteDatabase _database;

    public SqliteGrainStorage(string name, SqliteDatabase database)
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
        string? payload = null;
        string? etag = null;
        try
        {
            await _database.EnsureMigratedAsync(cancellationToken);
            using var connection = _database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = ReadSql;
            AddKey(command, stateName, grainId);
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                payload = reader.GetString(0);
                etag = reader.GetString(1);
            }
        }
        catch (SqliteException ex)
        {
            throw Failed(ex, new StorageOperation("reading", stateName, grainId));
        }

        StorageRecordNames.Load(grainState, payload, etag);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var payload = GrainJson.Serialize(grainState.State);
        var stateType = StorageRecordNames.StateType<T>();
        var expected = grainState.ETag;
        var next = StorageRecordNames.NextEtag();
        var now = _database.Time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        (bool Written, string? Stored) outcome;
        try
        {
            await _database.EnsureMigratedAsync(cancellationToken);
            outcome = await _database.WriteAsync(context =>
            {
                var command = context.Command(expected is null ? InsertSql : UpdateSql);
                AddKey(command, stateName, grainId);
                command.Parameters.AddWithValue("$stateType", stateType);
                command.Parameters.AddWithValue("$payload", payload);
                command.Parameters.AddWithValue("$etag", next);
                command.Parameters.AddWithValue("$at", now);
                if (expected is not null)
                {
                    command.Parameters.AddWithValue("$expected", expected);
                }

                return command.ExecuteNonQuery() == 1 ? (true, null) : (false, StoredEtag(context, stateName, grainId));
            }, cancellationToken);
        }
        catch (SqliteException ex)
        {
            throw Failed(ex, new StorageOperation("writing", stateName, grainId));
        }

        if (!outcome.Written)
        {
            throw InconsistentStateException.Conflict(stateName, grainId, outcome.Stored, expected);
        }

        grainState.ETag = next;
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var expected = grainState.ETag;
        (bool Cleared, string? Stored) outcome;
        try
        {
            await _database.EnsureMigratedAsync(cancellationToken);
            outcome = await _database.WriteAsync(context =>
            {
                if (expected is null)
                {
                    var existing = StoredEtag(context, stateName, grainId);
                    return (existing is null, existing);
                }

                var command = context.Command(DeleteSql);
                AddKey(command, stateName, grainId);
                command.Parameters.AddWithValue("$expected", expected);
                return command.ExecuteNonQuery() == 1 ? (true, null) : (false, StoredEtag(context, stateName, grainId));
            }, cancellationToken);
        }
        catch (SqliteException ex)
        {
            throw Failed(ex, new StorageOperation("clearing", stateName, grainId));
        }

        if (!outcome.Cleared)
        {
            throw InconsistentStateException.Conflict(stateName, grainId, outcome.Stored, expected);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static string? StoredEtag(SqliteWriteContext context, string stateName, GrainId grainId)
    {
        var command = context.Command(EtagSql);
        AddKey(command, stateName, grainId);
        return command.ExecuteScalar() as string;
    }

    private static void AddKey(SqliteCommand command, string stateName, GrainId grainId)
    {
        command.Parameters.AddWithValue("$type", grainId.Type);
        command.Parameters.AddWithValue("$key", grainId.Key);
        command.Parameters.AddWithValue("$name", stateName);
    }

    private GrainStorageException Failed(SqliteException exception, StorageOperation operation)
        => new($"SQLite {_database.DatabasePath} failed while {operation}: {exception.Message}", exception);
}
