using System.Globalization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Host.Hosting;
using Messengers.Providers.Telegram;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messengers.Host.Api;

/// <summary>
/// A message to send: text, or media (<see cref="Media"/>, base64 or a URL) with an optional caption in <see cref="Text"/>.
/// Telegram instances also take <see cref="ParseMode"/> (HTML, Markdown, MarkdownV2), <see cref="Silent"/> (no notification
/// sound) and <see cref="DisableLinkPreview"/>, the options of the MCP tool send_telegram_message.
/// </summary>
public sealed record SendMessageRequest(
    string? ChatId,
    string? Text,
    string? ReplyTo,
    string? ClientMessageId,
    SendMediaRequest? Media = null,
    string? ParseMode = null,
    bool? Silent = null,
    bool? DisableLinkPreview = null);

/// <summary>A stored media file of a message: its id in the media store, type, name and size in bytes.</summary>
public sealed record MediaView(string Id, string ContentType, string? FileName, long Size)
{
    public static MediaView? Of(MediaRef? media) => media is null ? null : new(media.MediaId, media.ContentType, media.FileName, media.Size);
}

public sealed record MessageView(string Id, string ChatId, string Body, bool FromMe, DateTimeOffset Timestamp, string Type, string? From, string? ContactName, string? ReplyTo, MessageAck Ack, MediaView? Media = null)
{
    public static MessageView Of(ChatMessage m) => new(m.MessageId, m.ChatId, m.Body, m.IsFromMe, m.Timestamp, m.Type, m.From, m.ContactName, m.ReplyToMessageId, m.Ack, MediaView.Of(m.Media));
}

public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

public sealed record TypingRequest(bool Typing);

/// <summary>Per-instance messaging routes under <c>/api/v1/instances/{id}</c>, answered per the provider's capabilities.</summary>
public static class MessagesApi
{
    public static RouteGroupBuilder MapMessagesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/instances/{id}").WithTags("Messages").RequireInstanceAccess();
        api.MapPost("/messages", SendAsync)
            .Accepts<SendMessageRequest>("application/json", "multipart/form-data")
            .Produces<MessageView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithSummary("Send a text or media message")
            .WithDescription("""
                JSON: {"chatId", "text", "replyTo", "clientMessageId", "media": {"data": "<base64 or data: URL>", "mimetype": "image/png", "filename": "a.png"}};
                Telegram instances also take "parseMode" ("HTML", "Markdown", "MarkdownV2"; empty for plain text), "silent" and
                "disableLinkPreview" (booleans; as multipart fields "true"/"false"); 400 naming the field for other values or providers.
                with media, "text" is the caption and may be empty. Instead of "data", "media" may carry "url": an http(s) link
                the gateway downloads ("mimetype" and "filename" then optional: the server's Content-Type and the link's file
                name are used); exactly one of data or url. multipart/form-data: fields chatId, text (or caption), replyTo,
                clientMessageId and the file in a part named "file". Media up to 16 MiB (base64 in JSON: the 16 MiB body limit,
                about 12 MiB of file); images, video, audio and documents, not HTML, SVG or scripts. The same clientMessageId
                sends once. 422 when the provider cannot send media.
                Downloads by URL: 400 naming media.url when the link is not http(s) or points to a private or loopback address
                (allowed only with Messengers:MediaDownload:AllowPrivateAddresses), 413 when the file passes 16 MiB, 415 when
                the server serves HTML, SVG or scripts, 422 when the download fails (the remote's status in the detail), times
                out (Messengers:MediaDownload:Timeout, 30 s) or redirects more than Messengers:MediaDownload:MaxRedirects (3) times.
                """);
        api.MapGet("/chats/{chatId}/messages", ListMessagesAsync);
        api.MapPost("/chats/{chatId}/read", MarkReadAsync);
        api.MapPost("/chats/{chatId}/typing", TypingAsync);
        api.MapPost("/chats/{chatId}/agent/pause", (string id, string chatId, IGrainFactory grains) => SetAgentPausedAsync(id, chatId, true, grains));
        api.MapPost("/chats/{chatId}/agent/resume", (string id, string chatId, IGrainFactory grains) => SetAgentPausedAsync(id, chatId, false, grains));
        return api;
    }

    public static async Task<IResult> SendAsync(string id, HttpRequest http, IGrainFactory grains, MessengerProviders providers, IMediaStore mediaStore, MediaDownloader downloader, CancellationToken cancellationToken)
    {
        var (info, problem) = await FindAsync(id, grains);
        if (info is null)
        {
            return problem!;
        }

        var (request, upload, invalid) = await MediaUploads.ReadSendAsync(http, cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        var provider = providers.Get(info.Provider);
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request!.ChatId))
        {
            errors["chatId"] = ["A chatId is required."];
        }
        else if (!provider.IsValidChatId(request.ChatId))
        {
            errors["chatId"] = [$"'{request.ChatId}' is not a valid chat id for provider '{info.Provider}'."];
        }

        var linked = request.Media is { IsUrl: true } ? request.Media : null;
        if (string.IsNullOrEmpty(request.Text) && upload is null && linked is null)
        {
            errors["text"] = ["A text (or media) is required."];
        }
        else if (MessageRules.TextProblem(request.Text) is { } textProblem)
        {
            errors["text"] = [textProblem];
        }

        if (request.ClientMessageId is { Length: > MessageRules.MaxClientMessageIdLength })
        {
            errors["clientMessageId"] = [$"The clientMessageId is longer than {MessageRules.MaxClientMessageIdLength} characters."];
        }

        var options = TelegramOptionsOf(request, info.Provider, errors);

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The message is not valid.");
        }

        if ((upload is not null || linked is not null) && !provider.Capabilities.HasFlag(ProviderCapabilities.Media))
        {
            return NotSupported(info, "sending media");
        }

        // Downloaded only now that the rest of the message is valid and the provider can send it.
        if (linked is not null)
        {
            (upload, var failed) = await MediaUploads.DownloadAsync(linked, downloader, cancellationToken);
            if (failed is not null)
            {
                return failed;
            }
        }

        MediaRef? media = null;
        if (upload is not null)
        {
            using var content = new MemoryStream(upload.Content, writable: false);
            media = await mediaStore.SaveAsync(id, content, upload.ContentType, upload.FileName, cancellationToken);
        }

        var sent = await grains.GetGrain<IChatSessionGrain>(ChatKey.For(id, request.ChatId!)).SendAsync(new OutgoingMessage
        {
            ChatId = request.ChatId!,
            Text = request.Text ?? "",
            Media = media,
            ReplyToMessageId = request.ReplyTo,
            ClientMessageId = request.ClientMessageId,
            Options = options,
        });
        return TypedResults.Created($"/api/v1/instances/{id}/chats/{Uri.EscapeDataString(sent.ChatId)}/messages", MessageView.Of(sent));
    }

    /// <summary>The Telegram send options of the body as <see cref="OutgoingMessage.Options"/>; an error per field that is wrong.</summary>
    private static Dictionary<string, string> TelegramOptionsOf(SendMessageRequest request, string provider, Dictionary<string, string[]> errors)
    {
        var options = new Dictionary<string, string>();
        var given = new List<string>();
        if (request.ParseMode is not null)
        {
            given.Add("parseMode");
            if (TelegramSendOptions.NormalizeParseMode(request.ParseMode) is not { } mode)
            {
                errors["parseMode"] = [$"'{request.ParseMode}' is not one of HTML, Markdown, MarkdownV2 (or empty for plain text)."];
            }
            else if (mode.Length > 0)
            {
                options[TelegramSendOptions.ParseModeKey] = mode;
            }
        }

        if (request.Silent is { } silent)
        {
            given.Add("silent");
            options[TelegramSendOptions.SilentKey] = silent ? "true" : "false";
        }

        if (request.DisableLinkPreview is { } disable)
        {
            given.Add("disableLinkPreview");
            options[TelegramSendOptions.DisableLinkPreviewKey] = disable ? "true" : "false";
        }

        if (!string.Equals(provider, TelegramProvider.ProviderName, StringComparison.OrdinalIgnoreCase))
        {
            // Other providers have no such options; refusing beats sending the text differently than asked.
            foreach (var field in given)
            {
                errors[field] = [$"{field} applies to Telegram instances only, not '{provider}'."];
            }
        }

        return options;
    }

    /// <summary>Newest first; pass <c>before</c> = the <c>next</c> of the previous page to go back in time.</summary>
    public static async Task<IResult> ListMessagesAsync(string id, string chatId, int? limit, string? before, IGrainFactory grains, IMessageStore store)
    {
        var (info, problem) = await FindAsync(id, grains);
        if (info is null)
        {
            return problem!;
        }

        MessageCursor? cursor = null;
        if (before is not null && !TryParseCursor(before, out cursor))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["before"] = ["Pass the 'next' value of the previous page."] });
        }

        var size = Math.Clamp(limit ?? 50, 1, 500);
        var messages = await store.GetMessagesAsync(id, chatId, size, cursor);
        var next = messages.Count == size ? FormatCursor(messages[^1]) : null;
        return TypedResults.Ok(new Page<MessageView>([.. messages.Select(MessageView.Of)], next));
    }

    public static async Task<IResult> MarkReadAsync(string id, string chatId, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, problem) = await FindAsync(id, grains);
        if (info is null)
        {
            return problem!;
        }

        if (!providers.Get(info.Provider).Capabilities.HasFlag(ProviderCapabilities.ReadReceipts))
        {
            return NotSupported(info, "read receipts");
        }

        await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.MarkRead(chatId));
        return TypedResults.NoContent();
    }

    public static async Task<IResult> TypingAsync(string id, string chatId, TypingRequest request, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, problem) = await FindAsync(id, grains);
        if (info is null)
        {
            return problem!;
        }

        if (!providers.Get(info.Provider).Capabilities.HasFlag(ProviderCapabilities.Typing))
        {
            return NotSupported(info, "typing indicators");
        }

        await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.SetTyping(chatId, request.Typing));
        return TypedResults.NoContent();
    }

    /// <summary>Hands one chat to a human (the agent stays silent there) or back to the agent.</summary>
    public static async Task<IResult> SetAgentPausedAsync(string id, string chatId, bool paused, IGrainFactory grains)
    {
        var (info, problem) = await FindAsync(id, grains);
        if (info is null)
        {
            return problem!;
        }

        await grains.GetGrain<IChatSessionGrain>(ChatKey.For(id, chatId)).SetAgentPausedAsync(paused);
        return TypedResults.Ok(new { chatId, agentPaused = paused });
    }

    internal static IResult NotSupported(InstanceInfo info, string what)
        => TypedResults.Problem(title: "Not supported by this provider", detail: $"Provider '{info.Provider}' does not support {what}.", statusCode: StatusCodes.Status422UnprocessableEntity);

    private static async Task<(InstanceInfo? Info, IResult? Problem)> FindAsync(string id, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        return info is null ? (null, InstanceProblems.NotFound(id)) : (info, null);
    }

    private static string FormatCursor(ChatMessage last)
        => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{last.Timestamp.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{last.MessageId}"));

    private static bool TryParseCursor(string value, out MessageCursor? cursor)
    {
        cursor = null;
        try
        {
            var text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || !long.TryParse(text[..bar], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
            {
                return false;
            }

            cursor = new MessageCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
