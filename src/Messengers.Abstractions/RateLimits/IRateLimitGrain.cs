using Orleans;

namespace Messengers.Abstractions.RateLimits;

/// <summary>
/// One rate-limit partition for the whole cluster (key: the partition's kind and
/// parts, <c>api/{key hash}</c>, <c>webchat/{instance}/{visitor}</c>, <c>mcp/{key id}</c>): a sliding window
/// of the permits taken, kept by the partition's single activation, so every silo counts against the same window.
/// </summary>
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>Takes a permit if fewer than <paramref name="permitLimit"/> were taken within the last <paramref name="window"/>.</summary>
    Task<RateLimitDecision> TryAcquireAsync(int permitLimit, TimeSpan window);
}
