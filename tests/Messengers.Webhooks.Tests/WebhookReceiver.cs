using System.Collections.Concurrent;
using Messengers.Data.Webhooks;
using Messengers.Webhooks;
using Messengers.Testing.Fakes;
using Microsoft.AspNetCore.Http;

namespace Messengers.Webhooks.Tests;

/// <summary>One webhook request as the receiver saw it.</summary>
internal sealed record ReceivedWebhook(string EventId, string EventType, string Timestamp, string Signature, string? Authorization, string ContentType, byte[] Body)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>A webhook receiver over real HTTP on loopback that records every request that reached its handler.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver()
    {
    }

    public LoopbackHttpServer Server { get; private set; } = null!;

    public string Url => Server.BaseUrl + "/hooks/messengers";

    /// <summary>Requests answered 200, in arrival order.</summary>
    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        receiver.Server = await LoopbackHttpServer.StartAsync(receiver.HandleAsync);
        return receiver;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var headers = context.Request.Headers;
        _received.Enqueue(new ReceivedWebhook(
            headers[WebhookSignature.EventIdHeader].ToString(),
            headers[WebhookSignature.EventHeader].ToString(),
            headers[WebhookSignature.TimestampHeader].ToString(),
            headers[WebhookSignature.SignatureHeader].ToString(),
            headers.Authorization.Count == 0 ? null : headers.Authorization.ToString(),
            context.Request.ContentType ?? "",
            buffer.ToArray()));
        context.Response.StatusCode = 200;
    }
}
