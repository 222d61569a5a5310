using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Runtime.Storage.Postgres;

/// <summary>
/// Writes and clears of grain state, batched: writes that arrive while earlier ones are in flight are sent together as
/// one <see cref="NpgsqlBatch"/> (one round trip, one implicit transaction). Each statement keeps its own etag check, so
/// a conflict in one write does not affect the others; statements are ordered by key so that concurrent batches lock
/// rows in the same order. A batch that fails on a statement error is split and its writes are run one by one, so only
/// the faulty write fails. With no concurrency a write is sent at once, alone: batching adds no latency.
/// </summary>
internal sealed class PostgresStateWriter : IAsyncDisposable
{
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
    private const string EtagSql = "SELECT etag FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3";

    private readonly Channel<StateChange> _queue = Channel.CreateUnbounded<StateChange>(new UnboundedChannelOptions { SingleReader = false });
    private readonly PostgresDatabase _database;
    private readonly int _maxBatch;
    private readonly Task[] _loops;

    /// <param name="flushers">How many batches may be in flight at once.</param>
    public PostgresStateWriter(PostgresDatabase database, int flushers = 2, int maxBatch = 128)
    {
        _database = database;
        _maxBatch = maxBatch;
        _loops = Enumerable.Range(0, flushers).Select(_ => Task.Run(LoopAsync)).ToArray();
    }

    /// <summary>A pending write (<see cref="Expected"/> null: insert) or clear, and its outcome.</summary>
    public sealed class StateChange(StorageOperation operation, string? expected, string? next, string? stateType, string? payload, DateTimeOffset at, CancellationToken cancellationToken)
    {
        private readonly TaskCompletionSource<(bool Done, string? Stored)> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StorageOperation Operation { get; } = operation;
        public string? Expected { get; } = expected;

        /// <summary>The new etag; null for a clear.</summary>
        public string? Next { get; } = next;
        public string? StateType { get; } = stateType;
        public string? Payload { get; } = payload;
        public DateTimeOffset At { get; } = at;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public bool IsClear => Next is null;

        /// <summary>Done: the change was applied. Otherwise Stored is the etag in the table (null: no row).</summary>
        public Task<(bool Done, string? Stored)> Outcome => _completion.Task;

        internal int RecordsAffected { get; set; }

        internal void Complete(bool done, string? stored) => _completion.TrySetResult((done, stored));

        internal void Fail(Exception exception) => _completion.TrySetException(exception);

        internal bool TryCancel() => CancellationToken.IsCancellationRequested && _completion.TrySetCanceled(CancellationToken);
    }

    public Task<(bool Done, string? Stored)> EnqueueAsync(StateChange change)
    {
        if (!_queue.Writer.TryWrite(change))
        {
            throw new ObjectDisposedException(nameof(PostgresGrainStorage), "The PostgreSQL grain storage is shutting down.");
        }

        return change.Outcome;
    }

    private async Task LoopAsync()
    {
        var batch = new List<StateChange>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var change))
            {
                if (!change.TryCancel())
                {
                    batch.Add(change);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                await FlushAsync(batch);
            }
#pragma warning disable CA1031 // every failure goes to the writes of the batch
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var change in batch)
                {
                    change.Fail(ex);
                }
            }

            batch.Clear();
        }
    }

    private async Task FlushAsync(List<StateChange> batch)
    {
        // Same lock order in every batch: no deadlocks between concurrent batches.
        batch.Sort(static (a, b) =>
        {
            var byType = string.CompareOrdinal(a.Operation.GrainId.Type, b.Operation.GrainId.Type);
            if (byType != 0)
            {
                return byType;
            }

            var byKey = string.CompareOrdinal(a.Operation.GrainId.Key, b.Operation.GrainId.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(a.Operation.StateName, b.Operation.StateName);
        });

        try
        {
            await RunAsync(batch);
        }
        catch (GrainStorageException ex) when (batch.Count > 1 && ex.InnerException is PostgresException pg && !PostgresDatabase.IsConnectionFailure(pg))
        {
            // A statement error aborted the whole batch (nothing was applied): run the writes alone so that only the
            // faulty one fails.
            foreach (var change in batch)
            {
                try
                {
                    await RunAsync([change]);
                }
#pragma warning disable CA1031 // the failure belongs to this write alone
                catch (Exception single)
#pragma warning restore CA1031
                {
                    change.Fail(single);
                }
            }
        }
    }

    private async Task RunAsync(List<StateChange> batch)
    {
        var operation = batch.Count == 1 ? batch[0].Operation.ToString() : $"writing {batch.Count} grain states";
        var outcomes = await _database.RunAsync(operation, async (connection, attempt, ct) =>
        {
            await using (var writes = new NpgsqlBatch(connection))
            {
                foreach (var change in batch)
                {
                    writes.BatchCommands.Add(Command(change));
                }

                await writes.ExecuteNonQueryAsync(ct);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].RecordsAffected = writes.BatchCommands[i].RecordsAffected;
                }
            }

            var outcomes = new (bool Done, string? Stored)[batch.Count];
            var missed = new List<int>();
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i].RecordsAffected == 1)
                {
                    outcomes[i] = (true, null);
                }
                else
                {
                    missed.Add(i);
                }
            }

            if (missed.Count > 0)
            {
                // Conflicts (rare): read the etags now in the table for the messages.
                await using var lookups = new NpgsqlBatch(connection);
                foreach (var i in missed)
                {
                    lookups.BatchCommands.Add(KeyCommand(EtagSql, batch[i]));
                }

                await using var reader = await lookups.ExecuteReaderAsync(ct);
                foreach (var i in missed)
                {
                    var stored = await reader.ReadAsync(ct) ? reader.GetString(0) : null;
                    await reader.NextResultAsync(ct);
                    var change = batch[i];
                    // On a retry the first attempt may have committed before its connection broke: our own etag (or,
                    // for a clear, the missing row) shows it.
                    var ours = attempt > 1 && (change.IsClear ? stored is null : stored == change.Next);
                    outcomes[i] = (ours, stored);
                }
            }

            return outcomes;
        }, CancellationToken.None);

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Complete(outcomes[i].Done, outcomes[i].Stored);
        }
    }

    private static NpgsqlBatchCommand Command(StateChange change)
    {
        if (change.IsClear)
        {
            var delete = KeyCommand(DeleteSql, change);
            delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Expected });
            return delete;
        }

        var command = KeyCommand(change.Expected is null ? InsertSql : UpdateSql, change);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.StateType });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Payload, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Next });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = change.At, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        if (change.Expected is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Expected });
        }

        return command;
    }

    private static NpgsqlBatchCommand KeyCommand(string sql, StateChange change)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Operation.GrainId.Type });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Operation.GrainId.Key });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = change.Operation.StateName });
        return command;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }
}
