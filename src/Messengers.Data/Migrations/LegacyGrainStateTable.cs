using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Npgsql;

namespace Messengers.Data.Migrations;

/// <summary>One row of the grain state the versions before Orleans kept (table <c>grain_state</c>, JSON payloads).</summary>
public sealed record LegacyGrainStateRow(string GrainType, string GrainKey, string StateName, string Payload);

/// <summary>
/// The grain state table of the versions before Orleans (sql/*/001_grain_state.sql). At the first start of this
/// version its rows are carried into Orleans' grain storage once: <see cref="ClaimAsync"/> renames the table to
/// <c>grain_state_upgrading</c> (so two silos starting together do not both copy) and returns its rows;
/// <see cref="FinishAsync"/> keeps the copied rows as <c>grain_state_before_orleans</c> (or drops the table when it was
/// empty, as on a new install). A start that died between the two claims the same rows again.
/// </summary>
public sealed class LegacyGrainStateTable
{
    private const string Current = "grain_state";
    private const string Upgrading = "grain_state_upgrading";
    private const string Kept = "grain_state_before_orleans";
    private const string SelectRows = $"SELECT grain_type, grain_key, state_name, payload FROM {Upgrading} ORDER BY grain_type, grain_key, state_name";

    private readonly PostgresDatabase? _postgres;
    private readonly SqliteDatabase? _sqlite;

    public LegacyGrainStateTable(PostgresDatabase postgres) => _postgres = postgres;

    public LegacyGrainStateTable(SqliteDatabase sqlite) => _sqlite = sqlite;

    /// <summary>The rows still to carry over; empty when there is nothing (left) to upgrade.</summary>
    public Task<IReadOnlyList<LegacyGrainStateRow>> ClaimAsync(CancellationToken cancellationToken)
        => _postgres is not null ? ClaimPostgresAsync(_postgres, cancellationToken) : ClaimSqliteAsync(_sqlite!, cancellationToken);

    /// <summary>Ends the upgrade: keeps the copied rows under another name, or drops an empty table.</summary>
    public Task FinishAsync(bool hadRows, CancellationToken cancellationToken)
    {
        var sql = hadRows ? $"ALTER TABLE {Upgrading} RENAME TO {Kept}" : $"DROP TABLE {Upgrading}";
        if (_postgres is not null)
        {
            return _postgres.RunAsync("finishing the grain state upgrade", async (connection, _, ct) =>
            {
                if (await ExistsAsync(connection, Upgrading, ct))
                {
                    await using var command = new NpgsqlCommand(sql, connection);
                    await command.ExecuteNonQueryAsync(ct);
                }

                return true;
            }, cancellationToken);
        }

        return _sqlite!.WriteAsync(context =>
        {
            if (SqliteExists(context.Connection, Upgrading))
            {
                context.Command(sql).ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);
    }

    private static Task<IReadOnlyList<LegacyGrainStateRow>> ClaimPostgresAsync(PostgresDatabase database, CancellationToken cancellationToken)
        => database.RunAsync("claiming the grain state of the previous version", async (connection, _, ct) =>
        {
            if (await ExistsAsync(connection, Current, ct))
            {
                // Of two silos renaming at once, one waits for the other's lock and then finds no table to rename.
                await using var rename = new NpgsqlCommand($"ALTER TABLE IF EXISTS {Current} RENAME TO {Upgrading}", connection);
                await rename.ExecuteNonQueryAsync(ct);
            }

            var rows = new List<LegacyGrainStateRow>();
            if (!await ExistsAsync(connection, Upgrading, ct))
            {
                return (IReadOnlyList<LegacyGrainStateRow>)rows;
            }

            await using var select = new NpgsqlCommand(SelectRows.Replace("payload", "payload::text", StringComparison.Ordinal), connection);
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new LegacyGrainStateRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
            }

            return rows;
        }, cancellationToken);

    private static async Task<IReadOnlyList<LegacyGrainStateRow>> ClaimSqliteAsync(SqliteDatabase database, CancellationToken cancellationToken)
    {
        await database.WriteAsync(context =>
        {
            if (SqliteExists(context.Connection, Current) && !SqliteExists(context.Connection, Upgrading))
            {
                context.Command($"ALTER TABLE {Current} RENAME TO {Upgrading}").ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

        using var connection = database.OpenConnection();
        var rows = new List<LegacyGrainStateRow>();
        if (!SqliteExists(connection, Upgrading))
        {
            return rows;
        }

        using var select = connection.CreateCommand();
        select.CommandText = SelectRows;
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new LegacyGrainStateRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return rows;
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass(@table) IS NOT NULL", connection);
        command.Parameters.AddWithValue("table", table);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static bool SqliteExists(Microsoft.Data.Sqlite.SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $name";
        command.Parameters.AddWithValue("$name", table);
        return (long)command.ExecuteScalar()! > 0;
    }
}
