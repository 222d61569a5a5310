using System.Net.Http.Headers;

namespace Messengers.Agents.Reliability;

internal static class RetryDelays
{
    /// <summary>Exponential backoff with jitter: attempt n waits between half of and the full base·2^(n-1), capped.</summary>
    public static TimeSpan Backoff(int failedAttempt, TimeSpan baseDelay, TimeSpan maxDelay, double random)
    {
        var exponential = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempt - 1, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (capped / 2 * random));
    }

    /// <summary>The wait a <c>Retry-After</c> header asks for (delta seconds or an HTTP-date), never negative.</summary>
    public static TimeSpan? FromRetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header is null)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
