using Messengers.Runtime.Timers;

namespace Messengers.Runtime.Catalog;

/// <summary>
/// A grain timer. Each tick is queued in the activation's mailbox and obeys the turn rule; the next tick is
/// scheduled only after the previous one finished, so ticks never overlap (as in Orleans).
/// </summary>
internal sealed class GrainTimer : IGrainTimer
{
    private readonly Activation _activation;
    private readonly Func<CancellationToken, Task> _callback;
    private readonly GrainTimerCreationOptions _options;
    private readonly CancellationTokenSource _disposed = new();
    private ITimer? _timer;
    private TimeSpan _dueTime;
    private TimeSpan _period;

    public GrainTimer(Activation activation, Func<CancellationToken, Task> callback, GrainTimerCreationOptions options)
    {
        if (options.DueTime != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(options.DueTime, TimeSpan.Zero); // infinite: armed later with Change
        }

        if (options.Period != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Period, TimeSpan.Zero);
        }

        _activation = activation;
        _callback = callback;
        _options = options;
        _dueTime = options.DueTime;
        _period = options.Period;
    }

    public void Start() => _timer = _activation.Runtime.Time.CreateTimer(static state => ((GrainTimer)state!).OnTimer(), this, _dueTime, Timeout.InfiniteTimeSpan);

    public void Change(TimeSpan dueTime, TimeSpan period)
    {
        _period = period;
        _dueTime = dueTime;
        if (!_disposed.IsCancellationRequested)
        {
            _timer?.Change(dueTime, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        _timer?.Dispose();
        _activation.RemoveTimer(this);
    }

    private void OnTimer()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        if (!_activation.Enqueue(new TimerTick(this, _options)))
        {
            Dispose();
        }
    }

    internal async Task TickAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await _callback(_disposed.Token);
        }
        catch (Exception exception) when (!_disposed.IsCancellationRequested)
        {
            RuntimeLog.TimerFailed(_activation.Runtime.Logger, exception, _activation.GrainId);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (!_disposed.IsCancellationRequested && _period != Timeout.InfiniteTimeSpan)
            {
                _timer?.Change(_period, Timeout.InfiniteTimeSpan);
            }
        }
    }
}

/// <summary>A timer tick in the mailbox.</summary>
internal sealed class TimerTick(GrainTimer timer, GrainTimerCreationOptions options) : WorkItem
{
    public override bool Interleave => options.Interleave;

    public override bool ReadOnly => false;

    public override bool KeepsAlive => options.KeepAlive;

    public override bool IsPending => true;

    public override string Describe() => "timer tick";

    public override Task RunAsync(Grain grain, Silo silo) => timer.TickAsync();

    public override void Fail(Exception exception)
    {
    }
}
