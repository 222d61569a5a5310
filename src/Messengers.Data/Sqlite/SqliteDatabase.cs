using System.Threading.Channels;
using Messengers.Data.Migrations;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Data.Sqlite;

/// <summary>
/// One SQLite database file of a silo in WAL mode: readers open pooled connections, and every write goes through
/// one writer connection (SQLite allows one writer at a time). Writes that arrive while a batch is being written
/// are committed together in the next transaction, each inside its own savepoint so that one failing write does not
/// undo the others. A write's task completes only after its transaction committed.
/// The stores use it; Orleans' ADO.NET grain storage (Invariant "System.Data.SQLite", tables of migration 009) writes to
/// the same file through connections of its own, taking turns with this writer on the file's write lock.
/// </summary>
public sealed class SqliteDatabase : IMigratedDatabase, IAsyncDisposable, IDisposable
{
    /// <summary>How long a connection waits for a lock held by another connection or process.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(10);

    private readonly Channel<WriteItem> _writes = Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly int _maxBatch;
    private readonly bool _fullSync;
    private Task? _migrated;
    private Task? _writer;
    private SqliteWriteContext? _context;

    /// <param name="databasePath">The database file; its folder is created when missing.</param>
    /// <param name="fullSync">
    /// <c>synchronous=FULL</c> (default): a committed write survives power loss. <c>false</c> uses NORMAL: safe against
    /// a crash of the process, not of the machine.
    /// </param>
    public SqliteDatabase(string databasePath, TimeProvider? time = null, ILoggerFactory? loggers = null, bool fullSync = true, int maxBatch = 256)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        DatabasePath = Path.GetFullPath(databasePath);
        Time = time ?? TimeProvider.System;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger("Messengers.Data.Sqlite");
        _fullSync = fullSync;
        _maxBatch = maxBatch;
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
        Description = $"SQLite {DatabasePath}";
    }

    public string DatabasePath { get; }

    public string ConnectionString { get; }

    public string Description { get; }

    public TimeProvider Time { get; }

    /// <summary>An open pooled connection for reading (WAL: readers never block the writer). Dispose it promptly.</summary>
    public SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(ConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public Task EnsureMigratedAsync(CancellationToken cancellationToken = default)
    {
        Task migrated;
        lock (_lock)
        {
            if (_migrated is null || _migrated.IsFaulted || _migrated.IsCanceled)
            {
                _migrated = Task.Run(Migrate, CancellationToken.None);
            }

            migrated = _migrated;
        }

        return migrated.IsCompletedSuccessfully ? Task.CompletedTask : migrated.WaitAsync(cancellationToken);
    }

    private void Migrate()
    {
        var folder = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        using var connection = OpenConnection();
        var journalMode = Pragma(connection, "journal_mode = WAL");
        SqliteLog.Opened(_logger, Description, journalMode);
        Pragma(connection, $"busy_timeout = {(int)BusyTimeout.TotalMilliseconds}");
        new SqliteMigrator(null, Time, _loggers.CreateLogger<SqliteMigrator>()).Run(connection);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the writer connection inside the next batch transaction (in its own savepoint)
    /// and completes after the commit. An exception thrown by <paramref name="work"/> undoes only its own changes.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteWriteContext, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new WriteItem<T>(work, cancellationToken);
        lock (_lock)
        {
            _writer ??= Task.Run(WriteLoopAsync, CancellationToken.None);
        }

        if (!_writes.Writer.TryWrite(item))
        {
            throw new ObjectDisposedException(nameof(SqliteDatabase), $"{Description} is closed.");
        }

        return item.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<WriteItem>(_maxBatch);
        while (await _writes.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _writes.Reader.TryRead(out var item))
            {
                if (!item.IsCancelled)
                {
                    batch.Add(item);
                }
            }

            if (batch.Count > 0)
            {
                WriteBatch(batch);
                batch.Clear();
            }
        }

        _context?.Dispose();
        _context = null;
    }

    private void WriteBatch(List<WriteItem> batch)
    {
        try
        {
            var context = _context ??= OpenWriter();
            using var transaction = context.Connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
            context.Transaction = transaction;
            if (batch.Count == 1)
            {
                // No savepoint needed: a failed single write rolls the whole transaction back.
                if (batch[0].Run(context))
                {
                    transaction.Commit();
                }
                else
                {
                    transaction.Rollback();
                }

                batch[0].Publish();
                return;
            }

            foreach (var item in batch)
            {
                transaction.Save("w");
                if (item.Run(context))
                {
                    transaction.Release("w");
                }
                else
                {
                    transaction.Rollback("w");
                    transaction.Release("w");
                }
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            SqliteLog.BatchFailed(_logger, ex, batch.Count, Description);
            foreach (var item in batch)
            {
                item.Fail(ex);
            }

            // Start over on a fresh connection: the failure may have left this one in a transaction.
            _context?.Dispose();
            _context = null;
            return;
        }

        foreach (var item in batch)
        {
            item.Publish();
        }
    }

    private SqliteWriteContext OpenWriter()
    {
        var connection = new SqliteConnection(ConnectionString);
        try
        {
            connection.Open();
            Pragma(connection, $"busy_timeout = {(int)BusyTimeout.TotalMilliseconds}");
            Pragma(connection, _fullSync ? "synchronous = FULL" : "synchronous = NORMAL");
            return new SqliteWriteContext(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static string Pragma(SqliteConnection connection, string pragma)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA " + pragma;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? "";
    }

    /// <summary>Finishes the queued writes, closes the writer and releases the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        Task? writer;
        lock (_lock)
        {
            writer = _writer;
        }

        if (writer is not null)
        {
            await writer;
        }

        using var connection = new SqliteConnection(ConnectionString);
        SqliteConnection.ClearPool(connection);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private abstract class WriteItem
    {
        public abstract bool IsCancelled { get; }

        /// <summary>Runs the work; false when it threw (its savepoint is rolled back).</summary>
        public abstract bool Run(SqliteWriteContext context);

        public abstract void Fail(Exception exception);

        public abstract void Publish();
    }

    private sealed class WriteItem<T>(Func<SqliteWriteContext, T> work, CancellationToken cancellationToken) : WriteItem
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;
        private Exception? _error;

        public Task<T> Task => _completion.Task;

        public override bool IsCancelled
        {
            get
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                _completion.TrySetCanceled(cancellationToken);
                return true;
            }
        }

        public override bool Run(SqliteWriteContext context)
        {
            try
            {
                _result = work(context);
                return true;
            }
#pragma warning disable CA1031 // the exception belongs to the caller of this write, not to the batch
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _error = ex;
                return false;
            }
        }

        public override void Fail(Exception exception) => _completion.TrySetException(_error ?? exception);

        public override void Publish()
        {
            if (_error is null)
            {
                _completion.TrySetResult(_result);
            }
            else
            {
                _completion.TrySetException(_error);
            }
        }
    }
}
