using Messengers.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which of its timers are armed, so a test can jump exactly to the next
/// due time (<see cref="AdvanceToNextTimer"/>) and can tell when the code under test is parked on a timer.
/// Jumping to due times keeps the clock still while the woken code runs: what it records is what it decided on.
/// </summary>
internal sealed class SteppingClock : TimeProvider
{
    private readonly FakeTimeProvider _inner = new();
    private readonly Lock _lock = new();
    private readonly HashSet<SteppingTimer> _armed = [];

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();

    public override long TimestampFrequency => _inner.TimestampFrequency;

    public override long GetTimestamp() => _inner.GetTimestamp();

    /// <summary>The earliest due time of an armed timer, or null when nothing waits on the clock.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_lock)
            {
                return _armed.Count == 0 ? null : _armed.Min(t => t.DueAt);
            }
        }
    }

    /// <summary>Moves the clock to the next due time and fires what is due. False when no timer is armed.</summary>
    public bool AdvanceToNextTimer()
    {
        if (NextDue is not { } due)
        {
            return false;
        }

        var delta = due - GetUtcNow();
        _inner.Advance(delta > TimeSpan.Zero ? delta : TimeSpan.Zero);
        return true;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SteppingTimer(this);
        timer.Inner = _inner.CreateTimer(_ =>
        {
            timer.OnFired();
            callback(state);
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class SteppingTimer(SteppingClock owner) : ITimer
    {
        public ITimer Inner { get; set; } = null!;

        public DateTimeOffset DueAt { get; private set; }

        private TimeSpan Period { get; set; } = Timeout.InfiniteTimeSpan;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                Period = period;
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    owner._armed.Remove(this);
                }
                else
                {
                    DueAt = owner.GetUtcNow() + dueTime;
                    owner._armed.Add(this);
                }
            }

            return Inner.Change(dueTime, period);
        }

        public void OnFired()
        {
            lock (owner._lock)
            {
                if (Period == Timeout.InfiniteTimeSpan)
                {
                    owner._armed.Remove(this);
                }
                else
                {
                    DueAt += Period;
                }
            }
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._armed.Remove(this);
            }

            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
