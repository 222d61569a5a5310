using Microsoft.AspNetCore.Http.Features;

namespace Messengers.Host.Api;

public static class EventStreams
{
    /// <summary>
    /// Makes the response an unbuffered server-sent event stream: no caching, no compression, and no buffering by
    /// nginx-style proxies, so each event reaches the client when it is written.
    /// </summary>
    public static void StartEventStream(this HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache,no-store";
        http.Response.Headers.ContentEncoding = "identity";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        http.EndOnShutdown();
    }

    /// <summary>
    /// Ends the request when the host starts to stop, not only when the client goes: the server waits for open
    /// requests before it lets the silo stop, and a stream left open would use up the whole shutdown time (a rolling
    /// restart would then kill the process before it handed its connections over). Clients reconnect elsewhere.
    /// </summary>
    public static void EndOnShutdown(this HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        http.Response.RegisterForDispose(linked);
        http.RequestAborted = linked.Token;
    }
}
