using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Data.Migrations;

/// <summary>
/// Applies the numbered migrations of <c>sql/postgres</c>. The whole run holds a session advisory lock, so silos
/// starting together apply each migration exactly once; each migration runs in its own transaction together with
/// its <c>schema_migrations</c> row.
/// </summary>
public sealed class PostgresMigrator(NpgsqlDataSource dataSource, IReadOnlyList<Migration>? migrations = null, TimeProvider? time = null, ILogger? logger = null)
{
    /// <summary>The advisory lock key taken for the duration of a run ("MSGRMIGR").</summary>
    public const long AdvisoryLockKey = 0x4D53_4752_4D49_4752;

    private readonly IReadOnlyList<Migration> _migrations = migrations is null ? MigrationSet.For(SqlDialect.Postgres) : MigrationSet.Order(migrations);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>Brings the schema up to date and returns the migrations this run applied (empty when up to date).</summary>
    public async Task<IReadOnlyList<Migration>> RunAsync(CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var database = Describe(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        MigrationLog.WaitingForLock(_logger, database);
        await ExecuteAsync(connection, null, "SELECT pg_advisory_lock($1)", cancellationToken, AdvisoryLockKey);
        try
        {
            await ExecuteAsync(connection, null, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     INTEGER     PRIMARY KEY,
                    name        TEXT        NOT NULL,
                    applied_at  TIMESTAMPTZ NOT NULL,
                    checksum    TEXT        NOT NULL
                )
                """, cancellationToken);

            var applied = new List<AppliedMigration>();
            await using (var select = new NpgsqlCommand("SELECT version, name, checksum FROM schema_migrations", connection))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(new AppliedMigration(reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
                }
            }

            var pending = MigrationPlan.Pending(SqlDialect.Postgres, _migrations, applied, out var unknown);
            foreach (var row in unknown)
            {
                MigrationLog.UnknownApplied(_logger, database, row.Version, row.Name);
            }

            foreach (var migration in pending)
            {
                var started = Stopwatch.GetTimestamp();
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                try
                {
                    await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
                }
                catch (PostgresException ex)
                {
                    throw new SchemaMigrationException($"Migration {migration} failed on {database}: {ex.MessageText} (SQLSTATE {ex.SqlState}).", ex);
                }

                await using (var insert = new NpgsqlCommand("INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)", connection, transaction))
                {
                    insert.Parameters.Add(new NpgsqlParameter { Value = migration.Version });
                    insert.Parameters.Add(new NpgsqlParameter { Value = migration.Name });
                    insert.Parameters.Add(new NpgsqlParameter { Value = _time.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
                    insert.Parameters.Add(new NpgsqlParameter { Value = migration.Checksum });
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                MigrationLog.Applied(_logger, migration.ToString(), database, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            var version = Math.Max(applied.Count == 0 ? 0 : applied.Max(a => a.Version), pending.Count == 0 ? 0 : pending.Max(m => m.Version));
            MigrationLog.UpToDate(_logger, database, version, pending.Count);
            return pending;
        }
        finally
        {
            if (connection.FullState == System.Data.ConnectionState.Open)
            {
                // A broken connection ends the session, which releases the lock anyway.
                await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock($1)", CancellationToken.None, AdvisoryLockKey);
            }
        }
    }

    /// <summary>host:port/database of a data source, without credentials.</summary>
    public static string Describe(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        return $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}";
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
