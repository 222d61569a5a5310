using System.Buffers;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.WebChat;
using Messengers.Host.Hosting;
using Messengers.Providers.WebChat;

namespace Messengers.Host.Api;

/// <summary>A visitor's message; <c>clientMessageId</c> (1-64 letters, digits, '-' or '_') makes a retried post count once.</summary>
public sealed record VisitorMessageRequest(string? VisitorId, string? Text, string? ClientMessageId = null);

public sealed record VisitorMessageAccepted(string MessageId, DateTimeOffset Timestamp);

/// <summary>Media of a message as the visitor's page sees it: <see cref="Url"/> fetches the file.</summary>
public sealed record VisitorMediaView(string Url, string ContentType, string? FileName, long Size)
{
    public static VisitorMediaView? Of(string instanceId, MediaRef? media)
        => media is null ? null : new(WebChatApi.MediaUrl(instanceId, media.MediaId), media.ContentType, media.FileName, media.Size);
}

public sealed record VisitorMessageView(string MessageId, string Text, string Direction, DateTimeOffset Timestamp, VisitorMediaView? Media = null);

/// <summary>The visitor side of the built-in web chat: no key, only for web-chat instances that enable it.</summary>
public static class WebChatApi
{
    private const int MaxTextLength = 4000;
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static RouteGroupBuilder MapWebChatApi(this IEndpointRouteBuilder app)
    {
        // The constraint keeps the page's own files (webchat.js, embed.js) to the static file middleware.
        var chat = app.MapGroup("/webchat/{instanceId:regex(^[a-z0-9][a-z0-9-]{{2,39}}$)}").WithTags("Web chat");
        chat.MapGet("", PageAsync).ExcludeFromDescription();
        chat.MapPost("/messages", PostAsync);
        chat.MapGet("/events", EventsAsync);
        chat.MapGet("/history", HistoryAsync);
        chat.MapGet("/media/{mediaId}", MediaAsync).WithSummary("A media file sent to the chat's visitors (the url of a message event's media)");
        return chat;
    }

    public static async Task<IResult> PageAsync(string instanceId, IWebHostEnvironment environment)
    {
        await Task.CompletedTask;
        var page = environment.WebRootFileProvider.GetFileInfo("webchat/index.html");
        return page.Exists
            ? TypedResults.File(page.CreateReadStream(), "text/html; charset=utf-8")
            : TypedResults.Content($"<!doctype html><title>Chat</title><p>Web chat {System.Net.WebUtility.HtmlEncode(instanceId)}</p>", "text/html; charset=utf-8");
    }

    public static async Task<IResult> PostAsync(string instanceId, VisitorMessageRequest request, HttpContext http, IGrainFactory grains, ClusterRateLimiter limiter, TimeProvider time)
    {
        var (info, problem) = await FindAsync(instanceId, http, grains);
        if (info is null)
        {
            return problem!;
        }

        if (info.DesiredState != DesiredState.Running)
        {
            // A stopped chat takes nothing: a stored message would never be answered (the agent's reply cannot be sent).
            http.Response.Headers.RetryAfter = "60";
            return TypedResults.Problem(title: "Chat offline", detail: "This chat is offline right now; try again later.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var errors = new Dictionary<string, string[]>();
        if (request.VisitorId is null || !WebChatProvider.VisitorIdPattern().IsMatch(request.VisitorId))
        {
            errors["visitorId"] = ["A visitorId of 1-64 letters, digits, '-' or '_' is required."];
        }

        if (string.IsNullOrWhiteSpace(request.Text))
        {
            errors["text"] = ["A text is required."];
        }
        else if (request.Text.Length > MaxTextLength)
        {
            errors["text"] = [$"The text is longer than {MaxTextLength} characters."];
        }

        if (request.ClientMessageId is not null && !WebChatProvider.VisitorIdPattern().IsMatch(request.ClientMessageId))
        {
            errors["clientMessageId"] = ["A clientMessageId, when given, is 1-64 letters, digits, '-' or '_'."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The message is not valid.");
        }

        // Per visitor across the cluster: a visitor whose posts are spread over several silos has one window.
        var limit = await limiter.TryAcquireAsync($"webchat/{instanceId}/{request.VisitorId}", info.WebChat!.MessagesPerMinute);
        if (!limit.Acquired)
        {
            http.Response.Headers.RetryAfter = ClusterRateLimiter.RetryAfterSeconds(limit);
            return TypedResults.Problem(title: "Too many messages", detail: $"This visitor may send {info.WebChat.MessagesPerMinute} messages per minute.", statusCode: StatusCodes.Status429TooManyRequests);
        }

        InboundResult stored;
        try
        {
            // Through the instance's connection, the one door of every inbound message.
            stored = await grains.GetGrain<IProviderClientGrain>(instanceId).ReceiveAsync(new VisitorPost(request.VisitorId!, request.Text!, ClientMessageId: request.ClientMessageId));
        }
        catch (InstanceNotReadyException)
        {
            // Meant to run but without a connection this moment: moving to another silo, or coming back after one died.
            http.Response.Headers.RetryAfter = "2";
            return TypedResults.Problem(title: "Chat reconnecting", detail: "This chat is reconnecting; nothing was stored. Try again in a moment.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Accepted((string?)null, new VisitorMessageAccepted(stored.MessageId!, stored.Timestamp ?? time.GetUtcNow()));
    }

    /// <summary>Server-sent events: <c>message</c> and <c>typing</c>, with a comment line every 15 s to keep proxies open.</summary>
    public static async Task EventsAsync(string instanceId, string? visitorId, HttpContext http, IGrainFactory grains, WebChatHub hub)
    {
        var (info, problem) = await FindAsync(instanceId, http, grains);
        if (info is null)
        {
            await problem!.ExecuteAsync(http);
            return;
        }

        if (visitorId is null || !WebChatProvider.VisitorIdPattern().IsMatch(visitorId))
        {
            await TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["visitorId"] = ["A visitorId query parameter is required."] }).ExecuteAsync(http);
            return;
        }

        http.EndOnShutdown();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache,no-store";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        // Before the first byte: once the visitor sees the stream open, events published on any silo reach it.
        using var subscription = await hub.SubscribeAsync(instanceId, visitorId, http.RequestAborted);
        await http.Response.WriteAsync(": connected\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
        var events = subscription.Events;
        var output = http.Response.BodyWriter;
        using var json = new Utf8JsonWriter(output); // one per stream, reset for every event

        // One keep-alive timer per stream, re-armed only when it fires: no timer work per event.
        var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        keepAlive.CancelAfter(KeepAliveInterval);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await events.WaitToReadAsync(keepAlive.Token);
                }
                catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
                {
                    keepAlive.Dispose();
                    keepAlive = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                    keepAlive.CancelAfter(KeepAliveInterval);
                    output.Write(": keep-alive\n\n"u8);
                    await output.FlushAsync(http.RequestAborted);
                    continue;
                }

                if (!more)
                {
                    break;
                }

                while (events.TryRead(out var chatEvent))
                {
                    WriteEvent(output, json, instanceId, chatEvent);
                }

                await output.FlushAsync(http.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // the visitor left
        }
        finally
        {
            keepAlive.Dispose();
        }
    }

    /// <summary>Writes one server-sent event straight into the response pipe (no intermediate strings).</summary>
    private static void WriteEvent(IBufferWriter<byte> output, Utf8JsonWriter json, string instanceId, WebChatEvent chatEvent)
    {
        output.Write(chatEvent.Kind == "typing" ? "event: typing\ndata: "u8 : "event: message\ndata: "u8);
        json.Reset(output);
        json.WriteStartObject();
        if (chatEvent.Kind == "typing")
        {
            json.WriteBoolean("typing", chatEvent.Typing ?? false);
        }
        else
        {
            json.WriteString("messageId", chatEvent.MessageId);
            json.WriteString("text", chatEvent.Text ?? "");
            json.WriteString("direction", chatEvent.Direction);
            json.WriteString("timestamp", chatEvent.Timestamp);
            if (chatEvent.Media is { } media)
            {
                json.WriteStartObject("media");
                json.WriteString("url", MediaUrl(instanceId, media.MediaId));
                json.WriteString("contentType", media.ContentType);
                json.WriteString("fileName", media.FileName);
                json.WriteNumber("size", media.Size);
                json.WriteEndObject();
            }
        }

        json.WriteEndObject();
        json.Flush();
        output.Write("\n\n"u8);
    }

    public static async Task<IResult> HistoryAsync(string instanceId, string? visitorId, int? limit, HttpContext http, IGrainFactory grains, IMessageStore store)
    {
        var (info, problem) = await FindAsync(instanceId, http, grains);
        if (info is null)
        {
            return problem!;
        }

        if (visitorId is null || !WebChatProvider.VisitorIdPattern().IsMatch(visitorId))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["visitorId"] = ["A visitorId query parameter is required."] });
        }

        var messages = await store.GetMessagesAsync(instanceId, visitorId, Math.Clamp(limit ?? 50, 1, 200));
        return TypedResults.Ok(new { items = messages.Select(m => new VisitorMessageView(m.MessageId, m.Body, m.IsFromMe ? "out" : "in", m.Timestamp, VisitorMediaView.Of(instanceId, m.Media))) });
    }

    /// <summary>
    /// A media file of this chat. Media ids are 128-bit random values that only the visitor's own events and history
    /// carry, so the id is the permission (as messenger CDN links are); images, video and audio are shown inline,
    /// anything else is a download, and the type is never sniffed.
    /// </summary>
    public static async Task<IResult> MediaAsync(string instanceId, string mediaId, HttpContext http, IGrainFactory grains, IMediaStore mediaStore)
    {
        var (info, problem) = await FindAsync(instanceId, http, grains);
        if (info is null)
        {
            return problem!;
        }

        var opened = await mediaStore.OpenAsync(instanceId, mediaId, http.RequestAborted);
        if (opened is not { } file)
        {
            return TypedResults.Problem(title: "Media not found", detail: "This media file does not exist (any more).", statusCode: StatusCodes.Status404NotFound);
        }

        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "private, max-age=86400";
        var inline = file.Media.ContentType.StartsWith("image/", StringComparison.Ordinal)
            || file.Media.ContentType.StartsWith("video/", StringComparison.Ordinal)
            || file.Media.ContentType.StartsWith("audio/", StringComparison.Ordinal);
        return TypedResults.Stream(file.Content, file.Media.ContentType, inline ? null : file.Media.FileName ?? file.Media.MediaId, enableRangeProcessing: true);
    }

    internal static string MediaUrl(string instanceId, string mediaId) => $"/webchat/{instanceId}/media/{Uri.EscapeDataString(mediaId)}";

    private static async Task<(InstanceInfo? Info, IResult? Problem)> FindAsync(string instanceId, HttpContext http, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(instanceId) ? await grains.GetGrain<IInstanceGrain>(instanceId).GetAsync() : null;
        if (info is null || info.Provider != WebChatProvider.ProviderName || info.WebChat is not { Enabled: true })
        {
            return (null, TypedResults.Problem(title: "Chat not available", detail: "This chat is not available.", statusCode: StatusCodes.Status404NotFound));
        }

        var origin = http.Request.Headers.Origin.ToString();
        if (info.WebChat.AllowedOrigins.Count > 0 && origin.Length > 0 && !info.WebChat.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return (null, TypedResults.Problem(title: "Origin not allowed", detail: $"Origin '{origin}' may not use this chat.", statusCode: StatusCodes.Status403Forbidden));
        }

        return (info, null);
    }
}
