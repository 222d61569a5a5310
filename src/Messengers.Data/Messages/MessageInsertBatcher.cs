using System.Threading.Channels;
using Messengers.Abstractions.Messages;

namespace Messengers.Data.Messages;

/// <summary>A message insert waiting in a <see cref="MessageInsertBatcher"/>, with its created_at already decided.</summary>
internal sealed class PendingInsert(ChatMessage message, DateTimeOffset createdAt, CancellationToken cancellationToken)
{
    public ChatMessage Message { get; } = message;
    public DateTimeOffset CreatedAt { get; } = createdAt;
    public CancellationToken CancellationToken { get; } = cancellationToken;
    public TaskCompletionSource<bool> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Batches the inserts of a message store: inserts that arrive while earlier ones are in flight are written together by
/// the store's batch insert (one statement or one write for all); alone, an insert is written at once as a single row,
/// so batching adds no latency. A batch that fails on a statement error is retried row by row so that only the faulty
/// insert fails.
/// </summary>
internal sealed class MessageInsertBatcher : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private readonly Channel<PendingInsert> _queue = Channel.CreateUnbounded<PendingInsert>();
    private readonly Func<List<PendingInsert>, Task<bool[]>> _insertBatch;
    private readonly Func<PendingInsert, Task<bool>> _insertOne;
    private readonly Func<Exception, bool> _isStatementError;
    private readonly Task[] _loops;

    /// <param name="insertBatch">Inserts the batch; one outcome per insert, in order (true: this insert stored the row).</param>
    /// <param name="insertOne">The single-row insert.</param>
    /// <param name="isStatementError">True for a failure that rejected the batch's statement, not the connection.</param>
    /// <param name="flushers">How many batches may be in flight at once.</param>
    public MessageInsertBatcher(Func<List<PendingInsert>, Task<bool[]>> insertBatch, Func<PendingInsert, Task<bool>> insertOne, Func<Exception, bool> isStatementError, int flushers)
    {
        _insertBatch = insertBatch;
        _insertOne = insertOne;
        _isStatementError = isStatementError;
        _loops = Enumerable.Range(0, flushers).Select(_ => Task.Run(LoopAsync)).ToArray();
    }

    public Task<bool> InsertAsync(ChatMessage message, DateTimeOffset createdAt, CancellationToken cancellationToken)
    {
        var pending = new PendingInsert(message, createdAt, cancellationToken);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);
        return pending.Outcome.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }

    private async Task LoopAsync()
    {
        var batch = new List<PendingInsert>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Outcome.TrySetCanceled(pending.CancellationToken);
                }
                else
                {
                    batch.Add(pending);
                }
            }

            if (batch.Count == 1)
            {
                await RunOneAsync(batch[0]);
            }
            else if (batch.Count > 1)
            {
                await RunBatchAsync(batch);
            }

            batch.Clear();
        }
    }

    private async Task RunBatchAsync(List<PendingInsert> batch)
    {
        try
        {
            var outcomes = await _insertBatch(batch);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Outcome.TrySetResult(outcomes[i]);
            }
        }
        catch (Exception exception) when (_isStatementError(exception))
        {
            // The statement error aborted the whole batch (nothing was stored): row by row, only the faulty insert fails.
            await Task.WhenAll(batch.Select(RunOneAsync));
        }
#pragma warning disable CA1031 // every other failure goes to the inserts of the batch
        catch (Exception exception)
#pragma warning restore CA1031
        {
            foreach (var pending in batch)
            {
                pending.Outcome.TrySetException(exception);
            }
        }
    }

    private async Task RunOneAsync(PendingInsert pending)
    {
        try
        {
            pending.Outcome.TrySetResult(await _insertOne(pending));
        }
#pragma warning disable CA1031 // the failure belongs to this insert only
        catch (Exception exception)
#pragma warning restore CA1031
        {
            pending.Outcome.TrySetException(exception);
        }
    }
}
