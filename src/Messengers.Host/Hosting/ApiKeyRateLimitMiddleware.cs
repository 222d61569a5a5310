using Messengers.Abstractions.Security;

namespace Messengers.Host.Hosting;

/// <summary>
/// <see cref="MessengersOptions.RequestsPerMinute"/> per API key on <c>/api</c>, across the cluster (ASP.NET Core's rate
/// limiter counts per process). Any key, even a wrong one, has its own window, keyed by its hash; requests without a
/// key are not limited here. Over the limit: 429 problem+json with <c>Retry-After</c>.
/// </summary>
public sealed class ApiKeyRateLimitMiddleware(RequestDelegate next, ClusterRateLimiter limiter, MessengersOptions options)
{
    public async Task InvokeAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var key = http.Request.Headers.Authorization.ToString();
        if (key.Length > 0 && http.Request.Path.StartsWithSegments("/api"))
        {
            var decision = await limiter.TryAcquireAsync("api/" + ApiKeys.Hash(key), options.RequestsPerMinute);
            if (!decision.Acquired)
            {
                http.Response.Headers.RetryAfter = ClusterRateLimiter.RetryAfterSeconds(decision);
                await TypedResults.Problem(title: "Too many requests", detail: $"This key may make {options.RequestsPerMinute} requests per minute.", statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(http);
                return;
            }
        }

        await next(http);
    }
}
