using Messengers.Abstractions.RateLimits;
using Orleans.Placement;

namespace Messengers.Grains.RateLimits;

/// <summary>
/// A sliding-window rate limit shared by every silo (see <see cref="IRateLimitGrain"/>). The window lives in memory
/// only: if the grain's silo crashes, the partition starts a fresh window on another silo — a client may then get up
/// to one extra window's worth of calls, which is acceptable for abuse protection and costs no storage write per call.
/// Placed on the first caller's silo, so with one silo (or a caller that stays on one) the check is a local call.
/// Idle partitions are collected soon after their window has passed (the callers' windows are a minute, well under
/// the collection age).
/// </summary>
[PreferLocalPlacement]
[CollectionAgeLimit(Minutes = 2)]
public sealed class RateLimitGrain(TimeProvider time) : Grain, IRateLimitGrain
{
    /// <summary>When each permit within the window was taken, oldest first.</summary>
    private readonly Queue<DateTimeOffset> _taken = new();

    public Task<RateLimitDecision> TryAcquireAsync(int permitLimit, TimeSpan window)
    {
        var now = time.GetUtcNow();
        while (_taken.Count > 0 && now - _taken.Peek() >= window)
        {
            _taken.Dequeue();
        }

        // A lowered limit can leave more permits in the window than it allows; the oldest ones that must pass first
        // decide when the next call may go.
        var limit = Math.Max(1, permitLimit);
        if (_taken.Count >= limit)
        {
            var blocking = _taken.ElementAt(_taken.Count - limit);
            return Task.FromResult(new RateLimitDecision(false, blocking + window - now));
        }

        _taken.Enqueue(now);
        return Task.FromResult(RateLimitDecision.Granted);
    }
}
