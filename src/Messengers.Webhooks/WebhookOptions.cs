using Messengers.Data.Webhooks;

namespace Messengers.Webhooks;

/// <summary>Delivery settings of webhooks (configuration section <c>Messengers:Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    /// <summary>How long one delivery may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the dispatcher looks for due deliveries (new events also wake it at once).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Subscriptions delivered at once (each subscription's events go one after another).</summary>
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>
    /// Waits after the 1st, 2nd, ... failed attempt (the last one repeats); each is jittered by ±<see cref="Jitter"/>.
    /// The default spreads 11 attempts over about 24 hours.
    /// </summary>
    public IList<TimeSpan> RetrySchedule { get; } =
    [
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4), TimeSpan.FromHours(8), TimeSpan.FromHours(8),
    ];

    /// <summary>Attempts before an event is marked dead (then the subscription's later events go on).</summary>
    public int MaxAttempts { get; set; } = 11;

    /// <summary>How long delivered and dead rows stay in the delivery log; older ones are purged about once an hour.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long the event writer reuses an instance's subscriptions before reading them again. A change through the
    /// API applies at once on its silo and, by a broadcast, within moments on the others; this time bounds how long a
    /// silo could miss a change whose broadcast was lost.
    /// </summary>
    public TimeSpan SubscriptionCacheTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Relative jitter of each retry delay (0.2 = ±20 %).</summary>
    public double Jitter { get; set; } = 0.2;

    /// <summary>The wait after failed attempt number <paramref name="attempts"/> (1-based), with jitter from <paramref name="random"/> in [0, 1).</summary>
    public TimeSpan RetryDelay(int attempts, double random)
    {
        var schedule = RetrySchedule.Count == 0 ? [TimeSpan.FromMinutes(1)] : RetrySchedule;
        var baseDelay = schedule[Math.Clamp(attempts - 1, 0, schedule.Count - 1)];
        var factor = 1 + (Jitter * ((2 * random) - 1));
        return TimeSpan.FromTicks((long)(baseDelay.Ticks * factor));
    }
}
