using Orleans.Runtime.Providers;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Wait of the pulling agent between failed reads: doubling from <c>min</c> up to <c>max</c>, with jitter
/// (replaces Orleans' default of 10–20 s, which keeps a queue idle long after Redis is back).
/// </summary>
internal sealed class RedisQueueReaderBackoff(TimeSpan min, TimeSpan max) : IQueueReaderBackoffProvider
{
    public TimeSpan Next(int attempt)
    {
        var ceiling = min.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 30));
        ceiling = Math.Min(ceiling, max.TotalMilliseconds);
        var jittered = min.TotalMilliseconds + ((ceiling - min.TotalMilliseconds) * Random.Shared.NextDouble());
        return TimeSpan.FromMilliseconds(jittered);
    }
}
