using Orleans;

namespace Messengers.Abstractions.RateLimits;

/// <summary>Whether a call may go ahead; if not, how long until a permit frees up.</summary>
[GenerateSerializer, Immutable, Alias("messengers.RateLimitDecision")]
public sealed record RateLimitDecision(bool Acquired, TimeSpan RetryAfter)
{
    public static readonly RateLimitDecision Granted = new(true, TimeSpan.Zero);
}
