using System.Net;

namespace Messengers.Providers.Telegram;

/// <summary>
/// Sits under Telegram.Bot's HttpClient. The library builds its own requests and leans on HttpClient.Timeout, but one
/// HttpClient serves every bot and holds long polls, so per-call limits live here instead: getUpdates may take the poll
/// timeout plus a grace, every other call a minute, file downloads only the caller's token.
/// With <see cref="UseHttp2"/> each request asks for HTTP/2 so many bots' long polls share a few connections:
/// api.telegram.org negotiates h2 over TLS (falling back to 1.1); a plain-http base URL gets h2c only when asked.
/// </summary>
internal sealed class TelegramHttpHandler(HttpMessageHandler inner, bool useHttp2, TimeSpan longPollTimeout, TimeSpan? requestTimeout = null) : DelegatingHandler(inner)
{
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan LongPollGrace = TimeSpan.FromSeconds(10);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (useHttp2)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = request.RequestUri?.Scheme == Uri.UriSchemeHttps ? HttpVersionPolicy.RequestVersionOrLower : HttpVersionPolicy.RequestVersionExact;
        }

        var path = request.RequestUri?.AbsolutePath ?? "";
        if (path.StartsWith("/file/", StringComparison.Ordinal))
        {
            return await base.SendAsync(request, cancellationToken); // streamed to the caller; bounded by its token
        }

        var limit = path.EndsWith("/getUpdates", StringComparison.OrdinalIgnoreCase) ? longPollTimeout + LongPollGrace : requestTimeout ?? DefaultRequestTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            var response = await base.SendAsync(request, timeout.Token);
            // The body is read inside the limit too: a server that stalls mid-answer counts as timed out.
            await response.Content.LoadIntoBufferAsync(timeout.Token);
            return response;
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // TaskCanceledException is what the library turns into RequestException("Bot API Request timed out").
            throw new TaskCanceledException($"The Bot API call did not answer within {limit.TotalSeconds:0} s.", new TimeoutException(exception.Message));
        }
    }
}
