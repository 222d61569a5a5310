namespace Messengers.Runtime.Timers;

/// <summary>A timer bound to an activation. Disposing it stops further ticks.</summary>
public interface IGrainTimer : IDisposable
{
    /// <summary>Changes the due time and period of the timer.</summary>
    void Change(TimeSpan dueTime, TimeSpan period);
}

/// <summary>Options of <c>RegisterGrainTimer</c>, with Orleans' names.</summary>
public readonly record struct GrainTimerCreationOptions
{
    public GrainTimerCreationOptions() { }

    public GrainTimerCreationOptions(TimeSpan dueTime, TimeSpan period)
    {
        DueTime = dueTime;
        Period = period;
    }

    /// <summary>Time until the first tick.</summary>
    public TimeSpan DueTime { get; init; } = TimeSpan.Zero;

    /// <summary>Time between ticks; <see cref="Timeout.InfiniteTimeSpan"/> for a single tick.</summary>
    public TimeSpan Period { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Ticks may interleave with other requests instead of waiting for them.</summary>
    public bool Interleave { get; init; }

    /// <summary>Ticks count as activity and keep the activation from idle collection.</summary>
    public bool KeepAlive { get; init; }
}
