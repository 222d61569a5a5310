using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Data.Migrations;

/// <summary>
/// Applies the numbered migrations of <c>sql/sqlite</c> in one <c>BEGIN IMMEDIATE</c> transaction: the write lock
/// keeps a second process out until the run is over, and a failed migration leaves the schema as it was.
/// </summary>
public sealed class SqliteMigrator(IReadOnlyList<Migration>? migrations = null, TimeProvider? time = null, ILogger? logger = null)
{
    private readonly IReadOnlyList<Migration> _migrations = migrations is null ? MigrationSet.For(SqlDialect.Sqlite) : MigrationSet.Order(migrations);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>Brings the schema of the open <paramref name="connection"/> up to date; returns the migrations applied now.</summary>
    public IReadOnlyList<Migration> Run(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var database = $"SQLite {connection.DataSource}";
        MigrationLog.WaitingForLock(_logger, database);
        using var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
        Execute(connection, transaction, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER PRIMARY KEY,
                name        TEXT    NOT NULL,
                applied_at  TEXT    NOT NULL,
                checksum    TEXT    NOT NULL
            )
            """);

        var applied = new List<AppliedMigration>();
        using (var select = new SqliteCommand("SELECT version, name, checksum FROM schema_migrations", connection, transaction))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                applied.Add(new AppliedMigration(reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        var pending = MigrationPlan.Pending(SqlDialect.Sqlite, _migrations, applied, out var unknown);
        foreach (var row in unknown)
        {
            MigrationLog.UnknownApplied(_logger, database, row.Version, row.Name);
        }

        foreach (var migration in pending)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                Execute(connection, transaction, migration.Sql);
            }
            catch (SqliteException ex)
            {
                throw new SchemaMigrationException($"Migration {migration} failed on {database}: {ex.Message}", ex);
            }

            Execute(connection, transaction, "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($version, $name, $at, $checksum)",
                ("$version", migration.Version),
                ("$name", migration.Name),
                ("$at", _time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture)),
                ("$checksum", migration.Checksum));
            MigrationLog.Applied(_logger, migration.ToString(), database, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        transaction.Commit();
        var version = Math.Max(applied.Count == 0 ? 0 : applied.Max(a => a.Version), pending.Count == 0 ? 0 : pending.Max(m => m.Version));
        MigrationLog.UpToDate(_logger, database, version, pending.Count);
        return pending;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = new SqliteCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }
}
