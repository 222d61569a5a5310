namespace Messengers.Runtime.Streams;

/// <summary>
/// Runs work for stream entries with at most <c>maxConcurrency</c> entries accepted at once, entries of the same
/// stream id strictly one after another in the order they were accepted. Shared by every stream provider's consumer.
/// </summary>
public sealed class OrderedDispatcher<TEntry> : IDisposable
{
    private readonly Func<TEntry, Task> _process;
    private readonly Func<TEntry, StreamId> _keyOf;
    private readonly SemaphoreSlim _slots;
    private readonly Dictionary<StreamId, Queue<TEntry>> _queues = [];
    private readonly Lock _lock = new();
    private int _inFlight;
    private TaskCompletionSource? _drained;

    public OrderedDispatcher(int maxConcurrency, Func<TEntry, StreamId> keyOf, Func<TEntry, Task> process)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        _slots = new SemaphoreSlim(maxConcurrency, maxConcurrency);
        _keyOf = keyOf;
        _process = process;
    }

    /// <summary>Entries accepted and not yet finished.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Accepts an entry, waiting while <c>maxConcurrency</c> entries are unfinished.</summary>
    public async ValueTask EnqueueAsync(TEntry entry, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        var key = _keyOf(entry);
        bool start;
        lock (_lock)
        {
            _inFlight++;
            if (_queues.TryGetValue(key, out var queue))
            {
                queue.Enqueue(entry);
                start = false;
            }
            else
            {
                _queues[key] = new Queue<TEntry>();
                start = true;
            }
        }

        if (start)
        {
            _ = Task.Run(() => RunKeyAsync(key, entry), CancellationToken.None);
        }
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>Completes when every accepted entry has finished.</summary>
    public Task DrainAsync()
    {
        lock (_lock)
        {
            if (_inFlight == 0)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    private async Task RunKeyAsync(StreamId key, TEntry first)
    {
        var next = first;
        while (true)
        {
            try
            {
                await _process(next);
            }
            catch (Exception)
            {
                // The process delegate owns error handling; a throw here must not stop the key's queue.
            }

            _slots.Release();
            lock (_lock)
            {
                _inFlight--;
                var queue = _queues[key];
                if (!queue.TryDequeue(out next!))
                {
                    _queues.Remove(key);
                    if (_inFlight == 0 && _drained is not null)
                    {
                        _drained.TrySetResult();
                        _drained = null;
                    }

                    return;
                }
            }
        }
    }
}
