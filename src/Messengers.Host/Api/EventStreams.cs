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
    }
}
