using System.Text;
using Messengers.Data.Migrations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Messengers.Data.Postgres;

/// <summary>
/// The PostgreSQL database of a silo: one shared <see cref="NpgsqlDataSource"/> (connection pool), the schema
/// migrations of <c>sql/postgres</c>, and the mapping of connection failures to <see cref="DatabaseException"/>.
/// The stores use it; Orleans' ADO.NET providers (tables and queries of migrations 009-012) may share the pool through
/// their <c>DataSource</c> option, or open their own connections from the connection string.
/// Pooled connections are returned without a session reset (<c>No Reset On Close</c>, which saves a round of reset
/// statements per use): code that borrows a connection must not leave session state behind (SET, temporary tables,
/// advisory locks, LISTEN) or must undo it before disposing the connection.
/// </summary>
public sealed class PostgresDatabase : IMigratedDatabase, IAsyncDisposable, IDisposable
{
    private readonly Lock _lock = new();
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private Task? _migrated;

    public PostgresDatabase(string connectionString, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger("Messengers.Data.Postgres");
        Time = time ?? TimeProvider.System;
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (settings.MaxAutoPrepare == 0)
        {
            // The storage runs a handful of statements over and over: keep them prepared on each connection.
            settings.MaxAutoPrepare = 32;
        }

        settings.ApplicationName ??= "messengers";
        settings.NoResetOnClose = true; // see the class summary
        builder.UseLoggerFactory(_loggers);
        DataSource = builder.Build();
        Address = $"{settings.Host}:{settings.Port}/{settings.Database}";
        Description = $"PostgreSQL {Address}";
    }

    /// <summary>The shared pool; open connections with <c>OpenConnectionAsync</c> and dispose them promptly.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>host:port/database, never credentials.</summary>
    public string Address { get; }

    public string Description { get; }

    public TimeProvider Time { get; }

    public Task EnsureMigratedAsync(CancellationToken cancellationToken = default)
    {
        Task migrated;
        lock (_lock)
        {
            if (_migrated is null || _migrated.IsFaulted || _migrated.IsCanceled)
            {
                _migrated = MigrateAsync();
            }

            migrated = _migrated;
        }

        return migrated.IsCompletedSuccessfully ? Task.CompletedTask : migrated.WaitAsync(cancellationToken);
    }

    private async Task MigrateAsync()
    {
        try
        {
            await new PostgresMigrator(DataSource, null, Time, _loggers.CreateLogger<PostgresMigrator>()).RunAsync(CancellationToken.None);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            throw Unreachable(ex, "applying migrations");
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection. A connection failure (server down, restarted, network)
    /// empties the pool and is retried once on a fresh connection: <c>attempt</c> is 2 then, and the work must
    /// recognise its own effect if the first attempt committed before the failure. A second failure throws
    /// <see cref="DatabaseException"/> "PostgreSQL unreachable: ...".
    /// </summary>
    public async Task<T> RunAsync<T, TOperation>(TOperation operation, Func<NpgsqlConnection, int, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
        where TOperation : notnull
    {
        ArgumentNullException.ThrowIfNull(work);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
                return await work(connection, attempt, cancellationToken);
            }
            catch (Exception ex) when (IsConnectionFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                DataSource.Clear();
                if (attempt == 1)
                {
                    PostgresLog.Retrying(_logger, ex, Description, operation.ToString()!);
                    continue;
                }

                PostgresLog.Unreachable(_logger, ex, Description, operation.ToString()!);
                throw Unreachable(ex, operation.ToString()!);
            }
            catch (PostgresException ex)
            {
                throw new DatabaseException($"PostgreSQL {Address} rejected {operation}: {ex.MessageText} (SQLSTATE {ex.SqlState}).", ex);
            }
        }
    }

    /// <summary>True for failures of the connection rather than of the statement: refused, reset, timed out, server shutting down.</summary>
    public static bool IsConnectionFailure(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState is "57P01" or "57P02" or "57P03" or "53300",
        NpgsqlException => true,
        _ => false,
    };

    /// <summary>The exception for an unreachable server: "PostgreSQL unreachable: ..." with the cause, never credentials.</summary>
    public DatabaseException Unreachable(Exception exception, string operation)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new DatabaseException($"PostgreSQL unreachable: {operation} on {Address} failed: {Causes(exception)}", exception);
    }

    private static string Causes(Exception exception)
    {
        var text = new StringBuilder();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var current = exception; current is not null; current = current.InnerException)
        {
            var message = current is PostgresException pg ? $"{pg.MessageText} (SQLSTATE {pg.SqlState})" : current.Message;
            if (seen.Add(message))
            {
                text.Append(text.Length == 0 ? "" : " <- ").Append(message);
            }
        }

        return text.ToString();
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    public void Dispose() => DataSource.Dispose();
}
