using System.Threading.Channels;
using Messengers.Abstractions.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Data.Messages;

/// <summary>
/// Records off the hot path that messages were published (the SQLite flag; PostgreSQL deletes the outbox row): marks queue up and are written in batches
/// (one <see cref="IMessageStore.MarkPublishedAsync(IReadOnlyCollection{MessageKey}, CancellationToken)"/> per batch).
/// A mark not yet written when the process dies only means the message is published once more at start-up
/// (at-least-once, as before; consumers dedupe on the message id). A failed batch is retried with backoff.
/// Disposing writes what is queued.
/// </summary>
public sealed partial class PublishedMarks : IAsyncDisposable
{
    private const int MaxBatch = 1024;

    /// <summary>
    /// How long marks gather before a batch is written. They are not urgent (a late mark only widens the replay after
    /// a crash), and one statement for a few hundred rows costs the database far less than a statement for every few.
    /// </summary>
    private static readonly TimeSpan GatherTime = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Channel<MessageKey> _queue = Channel.CreateUnbounded<MessageKey>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IMessageStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _closing = new();
    private long _queued;
    private long _written;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PublishedMarks(IMessageStore store, TimeProvider time, ILogger<PublishedMarks>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _time = time;
        _logger = logger ?? NullLogger<PublishedMarks>.Instance;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Queues the outbox mark of a published message.</summary>
    public void Add(string instanceId, string messageId)
    {
        Interlocked.Increment(ref _queued);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(new MessageKey(instanceId, messageId)), this);
    }

    /// <summary>Completes when every mark queued before the call has been written.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Interlocked.Read(ref _queued);
        while (Interlocked.Read(ref _written) < target)
        {
            var progress = Volatile.Read(ref _progress).Task;
            if (Interlocked.Read(ref _written) >= target)
            {
                break;
            }

            await progress.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_queue.Writer.TryComplete())
        {
            await _closing.CancelAsync(); // write what is queued without waiting for more
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                // The store is unreachable: the unwritten marks' messages are republished at the next start.
                await _stop.CancelAsync();
            }

            _stop.Dispose();
            _closing.Dispose();
        }
    }

    private async Task LoopAsync()
    {
        var batch = new List<MessageKey>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            if (Interlocked.Read(ref _queued) - Interlocked.Read(ref _written) < MaxBatch && !_closing.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(GatherTime, _time, _closing.Token);
                }
                catch (OperationCanceledException)
                {
                    // closing: write at once
                }
            }

            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var key))
            {
                batch.Add(key);
            }

            await WriteAsync(batch);
            Interlocked.Add(ref _written, batch.Count);
            batch.Clear();
            Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private async Task WriteAsync(List<MessageKey> batch)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; !_stop.IsCancellationRequested; attempt++)
        {
            try
            {
                await _store.MarkPublishedAsync(batch, _stop.Token);
                return;
            }
            catch (Exception exception) when (!_stop.IsCancellationRequested)
            {
                MarkFailed(_logger, exception, batch.Count, attempt, backoff);
                try
                {
                    await Task.Delay(backoff, _time, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marking {Count} messages published failed (attempt {Attempt}); retrying in {Backoff}")]
    private static partial void MarkFailed(ILogger logger, Exception exception, int count, int attempt, TimeSpan backoff);
}
