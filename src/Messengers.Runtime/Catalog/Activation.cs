using Messengers.Runtime.Storage;
using Messengers.Runtime.Timers;
using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Catalog;

public enum ActivationState
{
    Activating,
    Valid,
    Deactivating,
    Invalid,
}

/// <summary>
/// One activation of a grain: its instance, its mailbox and its turn rule. It is also the
/// <see cref="SynchronizationContext"/> of its turns, so every continuation of grain code runs back here,
/// one at a time, in order (the role of Orleans' ActivationTaskScheduler).
/// </summary>
internal sealed class Activation : SynchronizationContext, IThreadPoolWorkItem
{
    private const int TurnsPerQuantum = 64;

    [ThreadStatic]
    private static Activation? _constructing;

    private readonly GrainClass _class;
    private Queue<WorkItem>? _waiting;             // requests and ticks that wait their turn, in arrival order
    private Queue<WorkItem>? _waitingInterleaved;  // interleaving ones: they only wait while (de)activating
    private List<WorkItem>? _running;
    private Queue<(SendOrPostCallback Callback, object? State)>? _posted;
    private bool _scheduled;
    private int _blocking;          // running items that are not interleaving
    private int _blockingWriters;   // of those, the ones that are not read-only
    private Grain? _grain;
    private List<GrainTimer>? _timers;
    private long _lastActivity;
    private long _keepAliveUntil;
    private DeactivationReason? _deactivation;
    private TaskCompletionSource? _deactivated;

    public Activation(Silo runtime, GrainClass grainClass, GrainId grainId)
    {
        Runtime = runtime;
        _class = grainClass;
        GrainId = grainId;
        _lastActivity = runtime.Time.GetTimestamp();
    }

    /// <summary>The activation whose grain is being constructed on this thread; read by <see cref="Grain"/>'s constructor.</summary>
    internal static Activation? Constructing
    {
        get => _constructing;
        set => _constructing = value;
    }

    public GrainId GrainId { get; }

    public Silo Runtime { get; }

    public ActivationState State { get; private set; } = ActivationState.Activating;

    public override SynchronizationContext CreateCopy() => this;

    public override void Send(SendOrPostCallback d, object? state)
        => throw new NotSupportedException("Synchronous Send is not supported inside a grain turn.");

    public override void Post(SendOrPostCallback d, object? state)
    {
        lock (this)
        {
            (_posted ??= new()).Enqueue((d, state));
            if (_scheduled)
            {
                return;
            }

            _scheduled = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    void IThreadPoolWorkItem.Execute()
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            for (var i = 0; i < TurnsPerQuantum; i++)
            {
                (SendOrPostCallback Callback, object? State) next;
                lock (this)
                {
                    if (!_posted!.TryDequeue(out next))
                    {
                        _scheduled = false;
                        return;
                    }
                }

                try
                {
                    next.Callback(next.State);
                }
                catch (Exception exception)
                {
                    RuntimeLog.TurnFailed(Runtime.Logger, exception, GrainId);
                }
            }
        }
        finally
        {
            SetSynchronizationContext(previous);
        }

        // Quantum used up with work left: yield the thread and come back, so one busy grain cannot starve others.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>Begins activation: constructs the grain, reads its state and runs OnActivateAsync as the first turn.</summary>
    public void Start() => Post(static state => _ = ((Activation)state!).ActivateAsync(), this);

    /// <summary>Queues a work item. Returns false when this activation is gone and the caller must find a new one.</summary>
    public bool Enqueue(WorkItem item)
    {
        lock (this)
        {
            if (State == ActivationState.Invalid)
            {
                return false;
            }

            if (item.Chain is not null && item.Chain.Contains(this) && (State == ActivationState.Activating || !MayRun(item)))
            {
                item.Fail(new DeadlockException(
                    $"Deadlock: {item.Describe()} on non-reentrant {GrainId} came back through the call chain {item.Chain} -> {GrainId} while {GrainId} waits for it. " +
                    "Mark the grain [Reentrant] or the method [AlwaysInterleave], or restructure the calls."));
                return true;
            }

            if (item.Interleave)
            {
                (_waitingInterleaved ??= new()).Enqueue(item);
            }
            else
            {
                (_waiting ??= new()).Enqueue(item);
            }

            PumpLocked();
            return true;
        }
    }

    public void RequestDeactivation(DeactivationReason reason)
    {
        lock (this)
        {
            if (State is ActivationState.Activating or ActivationState.Valid)
            {
                _deactivation ??= reason;
                PumpLocked();
            }
        }
    }

    /// <summary>Deactivates and completes when the activation is gone.</summary>
    public Task DeactivateAsync(DeactivationReason reason)
    {
        lock (this)
        {
            if (State == ActivationState.Invalid)
            {
                return Task.CompletedTask;
            }

            _deactivated ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _deactivation ??= reason;
            PumpLocked();
            return _deactivated.Task;
        }
    }

    public void DelayDeactivation(TimeSpan timeSpan)
    {
        var until = Runtime.Time.GetTimestamp() + (long)(timeSpan.TotalSeconds * Runtime.Time.TimestampFrequency);
        lock (this)
        {
            _keepAliveUntil = Math.Max(_keepAliveUntil, until);
        }
    }

    /// <summary>True when nothing runs or waits and the last activity is older than the collection age.</summary>
    public bool IsIdle(long now, TimeSpan defaultAge)
    {
        var age = _class.CollectionAge ?? defaultAge;
        if (age == Timeout.InfiniteTimeSpan)
        {
            return false;
        }

        lock (this)
        {
            return State == ActivationState.Valid
                && _deactivation is null
                && (_running is null || _running.Count == 0)
                && (_waiting is null || _waiting.Count == 0)
                && (_waitingInterleaved is null || _waitingInterleaved.Count == 0)
                && now >= _keepAliveUntil
                && Runtime.Time.GetElapsedTime(_lastActivity, now) >= age;
        }
    }

    /// <summary>Fails callers whose calls were queued before <paramref name="cutoff"/> and are still unanswered.</summary>
    public void FailTimedOut(long cutoff, TimeSpan timeout)
    {
        List<WorkItem>? expired = null;
        lock (this)
        {
            Collect(_waiting, cutoff, ref expired);
            Collect(_waitingInterleaved, cutoff, ref expired);
            Collect(_running, cutoff, ref expired);
        }

        if (expired is null)
        {
            return;
        }

        foreach (var item in expired)
        {
            item.Fail(new GrainCallTimeoutException($"{item.Describe()} on {GrainId} did not complete within {timeout.TotalSeconds:0.###} s."));
        }

        static void Collect(IEnumerable<WorkItem>? items, long cutoff, ref List<WorkItem>? expired)
        {
            if (items is null)
            {
                return;
            }

            foreach (var item in items)
            {
                if (item.IsPending && item.QueuedAt < cutoff && item is not TimerTick)
                {
                    (expired ??= []).Add(item);
                }
            }
        }
    }

    public IGrainTimer RegisterTimer(Func<CancellationToken, Task> callback, GrainTimerCreationOptions options)
    {
        var timer = new GrainTimer(this, callback, options);
        lock (this)
        {
            (_timers ??= []).Add(timer);
        }

        timer.Start();
        return timer;
    }

    public void RemoveTimer(GrainTimer timer)
    {
        lock (this)
        {
            _timers?.Remove(timer);
        }
    }

    private bool MayRun(WorkItem item)
        => _blocking == 0
        || _class.IsReentrant
        || item.Interleave
        || (item.ReadOnly && _blockingWriters == 0);

    private void PumpLocked()
    {
        if (State != ActivationState.Valid)
        {
            return;
        }

        if (_deactivation is not null)
        {
            if (_running is null || _running.Count == 0)
            {
                State = ActivationState.Deactivating;
                Post(static state => _ = ((Activation)state!).RunDeactivationAsync(), this);
            }

            return;
        }

        while (_waitingInterleaved is not null && _waitingInterleaved.TryDequeue(out var interleaved))
        {
            Admit(interleaved);
        }

        while (_waiting is not null && _waiting.TryPeek(out var next) && MayRun(next))
        {
            _waiting.Dequeue();
            Admit(next);
        }
    }

    private void Admit(WorkItem next)
    {
        if (!next.IsPending)
        {
            return; // its caller timed out; nobody waits for the answer
        }

        (_running ??= new(1)).Add(next);
        if (!next.Interleave)
        {
            _blocking++;
            if (!next.ReadOnly)
            {
                _blockingWriters++;
            }
        }

        if (next.KeepsAlive)
        {
            _lastActivity = Runtime.Time.GetTimestamp();
        }

        next.Target = this;
        Post(static state => _ = ((WorkItem)state!).Target!.RunItemAsync((WorkItem)state), next);
    }

    private async Task RunItemAsync(WorkItem item)
    {
        CallChain.Current = new CallChain(this, item.Chain);
        try
        {
            await item.RunAsync(_grain!, Runtime);
        }
        finally
        {
            lock (this)
            {
                _running!.Remove(item);
                if (!item.Interleave)
                {
                    _blocking--;
                    if (!item.ReadOnly)
                    {
                        _blockingWriters--;
                    }
                }

                if (item.KeepsAlive)
                {
                    _lastActivity = Runtime.Time.GetTimestamp();
                }

                PumpLocked();
            }
        }
    }

    private async Task ActivateAsync()
    {
        CallChain.Current = new CallChain(this, null);
        try
        {
            _grain = _class.Construct(this, Runtime.Services, out var states);
            using var cancellation = new CancellationTokenSource(Runtime.Options.CallTimeout, Runtime.Time);
            foreach (var state in states)
            {
                await state.ReadStateAsync(cancellation.Token);
            }

            await _grain.OnActivateAsync(cancellation.Token);
            lock (this)
            {
                State = ActivationState.Valid;
                _lastActivity = Runtime.Time.GetTimestamp();
                PumpLocked();
            }
        }
        catch (Exception exception)
        {
            RuntimeLog.ActivationFailed(Runtime.Logger, exception, GrainId);
            var error = new GrainActivationException($"Activation of {GrainId} failed: {exception.GetType().Name}: {exception.Message}", exception);
            foreach (var item in Invalidate())
            {
                item.Fail(error);
            }
        }
    }

    private async Task RunDeactivationAsync()
    {
        var reason = _deactivation!.Value;
        DisposeTimers();
        try
        {
            using var cancellation = new CancellationTokenSource(Runtime.Options.DeactivationTimeout, Runtime.Time);
            await _grain!.OnDeactivateAsync(reason, cancellation.Token).WaitAsync(Runtime.Options.DeactivationTimeout, Runtime.Time, CancellationToken.None);
        }
        catch (Exception exception)
        {
            RuntimeLog.DeactivationFailed(Runtime.Logger, exception, GrainId, reason.ToString());
        }

        foreach (var item in Invalidate())
        {
            Runtime.Forward(GrainId, item); // arrived while deactivating: goes to a fresh activation
        }
    }

    /// <summary>Marks the activation gone, removes it from the catalog and returns the items that never ran.</summary>
    private List<WorkItem> Invalidate()
    {
        List<WorkItem> leftovers;
        TaskCompletionSource? deactivated;
        lock (this)
        {
            State = ActivationState.Invalid;
            leftovers = [.. _waitingInterleaved ?? [], .. _waiting ?? []];
            _waiting = null;
            _waitingInterleaved = null;
            deactivated = _deactivated;
        }

        DisposeTimers();
        Runtime.Catalog.Remove(this);
        deactivated?.TrySetResult();
        return leftovers;
    }

    private void DisposeTimers()
    {
        GrainTimer[] timers;
        lock (this)
        {
            if (_timers is null || _timers.Count == 0)
            {
                return;
            }

            timers = [.. _timers];
        }

        foreach (var timer in timers)
        {
            timer.Dispose();
        }
    }
}
