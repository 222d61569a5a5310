using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Testing.Fakes.Telegram;

/// <summary>A request the <see cref="WebhookReceiver"/> got.</summary>
public sealed record ReceivedWebhook(string Path, string? SecretToken, string ContentType, string Body, int AnsweredStatus);

/// <summary>
/// A loopback HTTP endpoint that records POSTs, for webhook tests. It answers 200 unless told to fail the next
/// requests, and can answer with a body (e.g. a Bot API method call).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _failNext;

    private WebhookReceiver(WebApplication app)
    {
        _app = app;
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:5123</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The body of the next successful answers; null for an empty body.</summary>
    public string? ResponseBody { get; set; }

    public IReadOnlyCollection<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseUrl = new Uri(address);
        return receiver;
    }

    /// <summary>Answers the next <paramref name="count"/> requests with 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived in total.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (_received.Count < count)
        {
            await _arrived.WaitAsync(cts.Token);
        }

        return [.. _received];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var fail = Interlocked.Decrement(ref _failNext) >= 0;
        if (!fail)
        {
            Interlocked.Exchange(ref _failNext, 0);
        }

        var status = fail ? StatusCodes.Status500InternalServerError : StatusCodes.Status200OK;
        _received.Enqueue(new ReceivedWebhook(
            context.Request.Path.Value ?? "",
            context.Request.Headers["X-Telegram-Bot-Api-Secret-Token"].FirstOrDefault(),
            context.Request.ContentType ?? "",
            body,
            status));
        context.Response.StatusCode = status;
        if (!fail && ResponseBody is { } answer)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answer, context.RequestAborted);
        }

        _arrived.Release();
    }
}
