using System.Globalization;
using Messengers.Abstractions.RateLimits;

namespace Messengers.Host.Hosting;

/// <summary>
/// Per-minute limits that hold across the cluster: each partition (an API key, a web-chat visitor, an MCP key) is one
/// <see cref="IRateLimitGrain"/>, whichever silo the call arrives at.
/// </summary>
public sealed partial class ClusterRateLimiter(IGrainFactory grains, ILogger<ClusterRateLimiter> logger)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Takes a permit of <paramref name="partition"/> (<c>kind/parts</c>, see <see cref="IRateLimitGrain"/>); a limit of
    /// 0 or less means none. If the cluster cannot answer, the call goes ahead: a limiter in trouble must not refuse
    /// every request, and abuse protection may be briefly loose.
    /// </summary>
    public async Task<RateLimitDecision> TryAcquireAsync(string partition, int perMinute)
    {
        if (perMinute <= 0)
        {
            return RateLimitDecision.Granted;
        }

        try
        {
            return await grains.GetGrain<IRateLimitGrain>(partition).TryAcquireAsync(perMinute, Window);
        }
        catch (Exception exception) when (exception is TimeoutException or OrleansException)
        {
            LogLimiterUnavailable(logger, partition[..partition.IndexOf('/', StringComparison.Ordinal)], exception.Message);
            return RateLimitDecision.Granted;
        }
    }

    /// <summary>The <c>Retry-After</c> value of a refusal: whole seconds, at least one.</summary>
    public static string RetryAfterSeconds(RateLimitDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Kind} rate limit could not be checked, the call goes ahead: {Reason}")]
    private static partial void LogLimiterUnavailable(ILogger logger, string kind, string reason);
}
