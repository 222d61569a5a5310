using Messengers.Testing.Fakes;
using Microsoft.AspNetCore.Http;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// A file server on 127.0.0.1 for downloads by URL: an image, a PDF served as octet-stream, an HTML page, a 404,
/// files over 16 MiB (declared, and streamed without a Content-Length), a redirect, a redirect loop and a slow answer.
/// </summary>
public sealed class FakeMediaServer : IAsyncDisposable
{
    /// <summary>A 1x1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    public static readonly byte[] Pdf = "%PDF-1.4 downloaded"u8.ToArray();

    private const int OverLimit = (16 * 1024 * 1024) + 1;

    private readonly LoopbackHttpServer _server;

    private FakeMediaServer(LoopbackHttpServer server) => _server = server;

    public string BaseUrl => _server.BaseUrl;

    public int RequestCount => _server.RequestCount;

    public static async Task<FakeMediaServer> StartAsync() => new(await LoopbackHttpServer.StartAsync(HandleAsync));

    public string Url(string path) => $"{BaseUrl}/{path.TrimStart('/')}";

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private static async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        try
        {
            switch (context.Request.Path.Value)
            {
                case "/images/dot.png":
                    response.ContentType = "image/png";
                    await response.Body.WriteAsync(Png, aborted);
                    break;
                case "/files/report.pdf":
                    response.ContentType = "application/octet-stream";
                    await response.Body.WriteAsync(Pdf, aborted);
                    break;
                case "/page.html":
                    response.ContentType = "text/html; charset=utf-8";
                    await response.WriteAsync("<html><script>alert(1)</script></html>", aborted);
                    break;
                case "/images/big-declared.jpg":
                    response.ContentType = "image/jpeg";
                    response.ContentLength = OverLimit;
                    await WriteZerosAsync(response, OverLimit, aborted);
                    break;
                case "/images/big-streamed.jpg":
                    // No Content-Length: chunked, so only counting while reading can stop it.
                    response.ContentType = "image/jpeg";
                    await WriteZerosAsync(response, OverLimit + (1024 * 1024), aborted);
                    break;
                case "/go/dot":
                    response.Redirect("/images/dot.png");
                    break;
                case "/go/loop":
                    response.Redirect("/go/loop");
                    break;
                case "/slow.png":
                    await Task.Delay(TimeSpan.FromSeconds(30), aborted);
                    break;
                default:
                    response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The gateway stopped reading (too large, timed out): nothing to answer.
        }
    }

    private static async Task WriteZerosAsync(HttpResponse response, int length, CancellationToken aborted)
    {
        var chunk = new byte[64 * 1024];
        for (var written = 0; written < length; written += chunk.Length)
        {
            await response.Body.WriteAsync(chunk.AsMemory(0, Math.Min(chunk.Length, length - written)), aborted);
        }
    }
}
