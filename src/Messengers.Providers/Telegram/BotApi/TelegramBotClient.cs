using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Providers.Telegram.BotApi;

/// <summary>
/// A typed client of the Telegram Bot API over a caller-owned <see cref="HttpClient"/> (protocols.md §1).
/// Calls are POSTs to <c>{base}/bot{token}/{method}</c> with a JSON body, or multipart/form-data for uploads.
/// Failures surface as <see cref="TelegramApiException"/> (the server answered an error) or
/// <see cref="TelegramNetworkException"/> (no usable answer); caller cancellation as
/// <see cref="OperationCanceledException"/>. The token never appears in logs or exception messages.
/// Thread-safe; one instance per bot token.
/// </summary>
public sealed class TelegramBotClient
{
    /// <summary>Telegram's public endpoint.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://api.telegram.org");

    /// <summary>The server clamps getUpdates timeouts to this (LONG_POLL_MAX_TIMEOUT).</summary>
    public const int MaxLongPollTimeoutSeconds = 50;

    private const string Redacted = "<token>";

    private readonly HttpClient _http;
    private readonly string _token;
    private readonly string _base;
    private readonly ILogger _logger;

    /// <param name="httpClient">Shared HTTP client; its <see cref="HttpClient.Timeout"/> must exceed the longest poll plus <see cref="LongPollGrace"/>.</param>
    /// <param name="token">Bot token as issued by BotFather.</param>
    /// <param name="baseUrl">Bot API server; <see cref="DefaultBaseUrl"/> when null. A self-hosted server or a test fake can stand in.</param>
    /// <param name="logger">Receives one debug line per call, without the token.</param>
    public TelegramBotClient(HttpClient httpClient, string token, Uri? baseUrl = null, ILogger<TelegramBotClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        if (token.Contains('/', StringComparison.Ordinal) || token.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException("The bot token must not contain '/' or whitespace.", nameof(token));
        }

        _http = httpClient;
        _token = token;
        BaseUrl = baseUrl ?? DefaultBaseUrl;
        _base = BaseUrl.AbsoluteUri.TrimEnd('/');
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var colon = token.IndexOf(':', StringComparison.Ordinal);
        BotId = colon > 0 && long.TryParse(token.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    public Uri BaseUrl { get; }

    /// <summary>The numeric part of the token before ':' (the bot's user id), when it parses.</summary>
    public long? BotId { get; }

    /// <summary>How much longer than the poll timeout a getUpdates request may take before it counts as timed out.</summary>
    public TimeSpan LongPollGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// HTTP/2 multiplexes many bots' long polls over a few connections instead of one connection per pending poll.
    /// api.telegram.org answers h2 (negotiated by ALPN over TLS, falling back to 1.1); the self-hosted Bot API server
    /// speaks HTTP/1.1 only, so plain-http base URLs get HTTP/2 only when asked for (prior knowledge, h2c).
    /// </summary>
    public bool UseHttp2 { get; init; }

    /// <summary>Timeout for every call except getUpdates and downloads; <see cref="Timeout.InfiniteTimeSpan"/> leaves it to the HttpClient.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    // ---- bot ----

    public Task<User> GetMeAsync(CancellationToken cancellationToken = default) =>
        CallAsync<User>("getMe", new BotApiRequest(), cancellationToken);

    // ---- updates ----

    /// <summary>
    /// getUpdates. <paramref name="timeoutSeconds"/> &gt; 0 long-polls: the server holds the request until an update
    /// arrives or the timeout ends (then the result is empty). Updates below <paramref name="offset"/> are confirmed.
    /// </summary>
    public Task<Update[]> GetUpdatesAsync(
        long? offset = null,
        int? limit = null,
        int timeoutSeconds = 0,
        IEnumerable<string>? allowedUpdates = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(timeoutSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeoutSeconds, MaxLongPollTimeoutSeconds);
        if (limit is not null)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(limit.Value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(limit.Value, 100);
        }

        var httpTimeout = TimeSpan.FromSeconds(timeoutSeconds) + LongPollGrace;
        if (_http.Timeout != Timeout.InfiniteTimeSpan && _http.Timeout <= httpTimeout)
        {
            throw new InvalidOperationException(
                $"HttpClient.Timeout ({_http.Timeout}) must exceed the poll timeout plus grace ({httpTimeout}).");
        }

        var request = new BotApiRequest()
            .Add("offset", offset)
            .Add("limit", limit)
            .Add("timeout", timeoutSeconds)
            .AddStrings("allowed_updates", allowedUpdates);
        return CallAsync<Update[]>("getUpdates", request, httpTimeout, cancellationToken);
    }

    /// <summary>setWebhook. An empty <paramref name="url"/> removes the webhook.</summary>
    public Task<bool> SetWebhookAsync(
        string url,
        string? secretToken = null,
        IEnumerable<string>? allowedUpdates = null,
        bool? dropPendingUpdates = null,
        int? maxConnections = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        var request = new BotApiRequest()
            .Add("url", url)
            .Add("secret_token", secretToken)
            .AddStrings("allowed_updates", allowedUpdates)
            .Add("drop_pending_updates", dropPendingUpdates)
            .Add("max_connections", maxConnections);
        return CallAsync<bool>("setWebhook", request, cancellationToken);
    }

    public Task<bool> DeleteWebhookAsync(bool? dropPendingUpdates = null, CancellationToken cancellationToken = default) =>
        CallAsync<bool>("deleteWebhook", new BotApiRequest().Add("drop_pending_updates", dropPendingUpdates), cancellationToken);

    public Task<WebhookInfo> GetWebhookInfoAsync(CancellationToken cancellationToken = default) =>
        CallAsync<WebhookInfo>("getWebhookInfo", new BotApiRequest(), cancellationToken);

    // ---- sending ----

    public Task<Message> SendMessageAsync(
        ChatId chatId,
        string text,
        ParseMode? parseMode = null,
        ReplyParameters? replyParameters = null,
        bool? disableNotification = null,
        LinkPreviewOptions? linkPreviewOptions = null,
        long? messageThreadId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var request = new BotApiRequest()
            .AddChatId("chat_id", chatId)
            .Add("message_thread_id", messageThreadId)
            .Add("text", text)
            .Add("parse_mode", parseMode)
            .Add("disable_notification", disableNotification)
            .AddObject("reply_parameters", replyParameters)
            .AddObject("link_preview_options", linkPreviewOptions);
        return CallAsync<Message>("sendMessage", request, cancellationToken);
    }

    public Task<Message> SendPhotoAsync(
        ChatId chatId,
        InputFile photo,
        string? caption = null,
        ParseMode? parseMode = null,
        ReplyParameters? replyParameters = null,
        bool? disableNotification = null,
        CancellationToken cancellationToken = default) =>
        SendMediaAsync("sendPhoto", "photo", chatId, photo, caption, parseMode, replyParameters, disableNotification, null, cancellationToken);

    public Task<Message> SendDocumentAsync(
        ChatId chatId,
        InputFile document,
        string? caption = null,
        ParseMode? parseMode = null,
        ReplyParameters? replyParameters = null,
        bool? disableNotification = null,
        CancellationToken cancellationToken = default) =>
        SendMediaAsync("sendDocument", "document", chatId, document, caption, parseMode, replyParameters, disableNotification, null, cancellationToken);

    public Task<Message> SendAudioAsync(
        ChatId chatId,
        InputFile audio,
        string? caption = null,
        ParseMode? parseMode = null,
        ReplyParameters? replyParameters = null,
        bool? disableNotification = null,
        int? duration = null,
        string? performer = null,
        string? title = null,
        CancellationToken cancellationToken = default) =>
        SendMediaAsync("sendAudio", "audio", chatId, audio, caption, parseMode, replyParameters, disableNotification,
            r => r.Add("duration", duration).Add("performer", performer).Add("title", title), cancellationToken);

    public Task<Message> SendVideoAsync(
        ChatId chatId,
        InputFile video,
        string? caption = null,
        ParseMode? parseMode = null,
        ReplyParameters? replyParameters = null,
        bool? disableNotification = null,
        int? duration = null,
        int? width = null,
        int? height = null,
        bool? supportsStreaming = null,
        CancellationToken cancellationToken = default) =>
        SendMediaAsync("sendVideo", "video", chatId, video, caption, parseMode, replyParameters, disableNotification,
            r => r.Add("duration", duration).Add("width", width).Add("height", height).Add("supports_streaming", supportsStreaming),
            cancellationToken);

    public Task<Message> SendVoiceAsync(
        ChatId chatId,
        InputFile voice,
        string? caption = null,
        ParseMode? parseMode = null,
        ReplyParameters? replyParameters = null,
        bool? disableNotification = null,
        int? duration = null,
        CancellationToken cancellationToken = default) =>
        SendMediaAsync("sendVoice", "voice", chatId, voice, caption, parseMode, replyParameters, disableNotification,
            r => r.Add("duration", duration), cancellationToken);

    public Task<bool> SendChatActionAsync(ChatId chatId, ChatAction action, long? messageThreadId = null, CancellationToken cancellationToken = default) =>
        CallAsync<bool>("sendChatAction", new BotApiRequest()
            .AddChatId("chat_id", chatId)
            .Add("message_thread_id", messageThreadId)
            .Add("action", TelegramJson.Format(action)), cancellationToken);

    public Task<Message> EditMessageTextAsync(
        ChatId chatId,
        long messageId,
        string text,
        ParseMode? parseMode = null,
        LinkPreviewOptions? linkPreviewOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CallAsync<Message>("editMessageText", new BotApiRequest()
            .AddChatId("chat_id", chatId)
            .Add("message_id", messageId)
            .Add("text", text)
            .Add("parse_mode", parseMode)
            .AddObject("link_preview_options", linkPreviewOptions), cancellationToken);
    }

    public Task<bool> DeleteMessageAsync(ChatId chatId, long messageId, CancellationToken cancellationToken = default) =>
        CallAsync<bool>("deleteMessage", new BotApiRequest().AddChatId("chat_id", chatId).Add("message_id", messageId), cancellationToken);

    /// <summary>Sets the bot's reactions on a message; an empty list removes them.</summary>
    public Task<bool> SetMessageReactionAsync(
        ChatId chatId,
        long messageId,
        IReadOnlyList<ReactionType> reaction,
        bool? isBig = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reaction);
        return CallAsync<bool>("setMessageReaction", new BotApiRequest()
            .AddChatId("chat_id", chatId)
            .Add("message_id", messageId)
            .AddObject("reaction", reaction.ToArray())
            .Add("is_big", isBig), cancellationToken);
    }

    // ---- chats ----

    public Task<ChatFullInfo> GetChatAsync(ChatId chatId, CancellationToken cancellationToken = default) =>
        CallAsync<ChatFullInfo>("getChat", new BotApiRequest().AddChatId("chat_id", chatId), cancellationToken);

    public Task<ChatMember[]> GetChatAdministratorsAsync(ChatId chatId, CancellationToken cancellationToken = default) =>
        CallAsync<ChatMember[]>("getChatAdministrators", new BotApiRequest().AddChatId("chat_id", chatId), cancellationToken);

    // ---- files ----

    public Task<File> GetFileAsync(string fileId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileId);
        return CallAsync<File>("getFile", new BotApiRequest().Add("file_id", fileId), cancellationToken);
    }

    /// <summary>Downloads <c>{base}/file/bot{token}/{filePath}</c> (a <see cref="File.FilePath"/> from getFile) into <paramref name="destination"/>.</summary>
    public async Task DownloadFileAsync(string filePath, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        ArgumentNullException.ThrowIfNull(destination);
        const string method = "file";
        var escaped = string.Join('/', filePath.TrimStart('/').Split('/').Select(Uri.EscapeDataString));
        using var request = NewRequest(HttpMethod.Get, new Uri($"{_base}/file/bot{_token}/{escaped}"));
        var started = Stopwatch.GetTimestamp();
        using var response = await SendCoreAsync(method, request, cancellationToken, cancellationToken);
        TelegramClientLog.Call(_logger, method, (int)response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        if (!response.IsSuccessStatusCode)
        {
            var body = await ReadBodyAsync(method, response, cancellationToken, cancellationToken);
            throw ParseError(method, response, body);
        }

        try
        {
            await response.Content.CopyToAsync(destination, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw Network(method, "download interrupted", ex);
        }
    }

    /// <summary>Downloads a file into memory. Bot API downloads are at most 20 MB.</summary>
    public async Task<byte[]> DownloadFileAsync(string filePath, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await DownloadFileAsync(filePath, buffer, cancellationToken);
        return buffer.ToArray();
    }

    // ---- plumbing ----

    private Task<Message> SendMediaAsync(
        string method,
        string field,
        ChatId chatId,
        InputFile file,
        string? caption,
        ParseMode? parseMode,
        ReplyParameters? replyParameters,
        bool? disableNotification,
        Action<BotApiRequest>? extra,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        var request = new BotApiRequest()
            .AddChatId("chat_id", chatId)
            .Add("caption", caption)
            .Add("parse_mode", parseMode)
            .Add("disable_notification", disableNotification)
            .AddObject("reply_parameters", replyParameters);
        extra?.Invoke(request);
        request.AddFile(field, file);
        return CallAsync<Message>(method, request, cancellationToken);
    }

    private Task<T> CallAsync<T>(string method, BotApiRequest parameters, CancellationToken cancellationToken) =>
        CallAsync<T>(method, parameters, RequestTimeout == Timeout.InfiniteTimeSpan ? null : RequestTimeout, cancellationToken);

    private async Task<T> CallAsync<T>(string method, BotApiRequest parameters, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        parameters.Rewind();
        using var content = parameters.ToContent();
        using var request = NewRequest(HttpMethod.Post, new Uri($"{_base}/bot{_token}/{method}"));
        request.Content = content;
        using var timeoutSource = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource?.CancelAfter(timeout!.Value);
        var token = timeoutSource?.Token ?? cancellationToken;
        var started = Stopwatch.GetTimestamp();
        using var response = await SendCoreAsync(method, request, token, cancellationToken);
        var body = await ReadBodyAsync(method, response, token, cancellationToken);
        TelegramClientLog.Call(_logger, method, (int)response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new TelegramApiException(method, (int)response.StatusCode, response.ReasonPhrase ?? response.StatusCode.ToString());
            }

            throw Network(method, "the answer is not JSON", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True
                && root.TryGetProperty("result", out var result))
            {
                try
                {
                    return result.Deserialize<T>(TelegramJson.Options)
                        ?? throw new JsonException("null result");
                }
                catch (JsonException ex)
                {
                    throw Network(method, $"the result does not match {typeof(T).Name}: {Redact(ex.Message)}", null);
                }
            }

            throw ParseError(method, response, root);
        }
    }

    /// <param name="token">Cancels on caller cancellation or the call's timeout.</param>
    /// <param name="callerToken">The caller's token alone, to tell the two apart.</param>
    private async Task<HttpResponseMessage> SendCoreAsync(string method, HttpRequestMessage request, CancellationToken token, CancellationToken callerToken)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
        }
        catch (OperationCanceledException) when (callerToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            TelegramClientLog.Failed(_logger, method, "timeout");
            throw Network(method, "the request timed out", ex, isTimeout: true);
        }
        catch (HttpRequestException ex)
        {
            TelegramClientLog.Failed(_logger, method, ex.HttpRequestError.ToString());
            throw Network(method, $"the request failed ({ex.HttpRequestError}): {Redact(ex.Message)}", ex);
        }
    }

    private async Task<string> ReadBodyAsync(string method, HttpResponseMessage response, CancellationToken token, CancellationToken callerToken)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(token);
        }
        catch (OperationCanceledException) when (callerToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            throw Network(method, "reading the answer timed out", ex, isTimeout: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            throw Network(method, "reading the answer failed", ex);
        }
    }

    private static TelegramApiException ParseError(string method, HttpResponseMessage response, string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return ParseError(method, response, document.RootElement);
        }
        catch (JsonException)
        {
            return new TelegramApiException(method, (int)response.StatusCode, response.ReasonPhrase ?? response.StatusCode.ToString());
        }
    }

    private static TelegramApiException ParseError(string method, HttpResponseMessage response, JsonElement root)
    {
        var status = (int)response.StatusCode;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return new TelegramApiException(method, status, response.ReasonPhrase ?? "unexpected answer");
        }

        var code = root.TryGetProperty("error_code", out var c) && c.TryGetInt32(out var n) ? n
            : response.IsSuccessStatusCode ? (int)HttpStatusCode.InternalServerError : status;
        var description = root.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()!
            : response.ReasonPhrase ?? "";
        TimeSpan? retryAfter = null;
        long? migrateTo = null;
        if (root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            if (p.TryGetProperty("retry_after", out var r) && r.TryGetInt32(out var seconds))
            {
                retryAfter = TimeSpan.FromSeconds(seconds);
            }

            if (p.TryGetProperty("migrate_to_chat_id", out var m) && m.TryGetInt64(out var chat))
            {
                migrateTo = chat;
            }
        }

        return new TelegramApiException(method, code, description, retryAfter, migrateTo);
    }

    private TelegramNetworkException Network(string method, string message, Exception? inner, bool isTimeout = false)
    {
        // Keep the inner exception only when nothing in its chain mentions the token (e.g. a URL in a message).
        for (var e = inner; e is not null; e = e.InnerException)
        {
            if (e.Message.Contains(_token, StringComparison.Ordinal) || (e.StackTrace?.Contains(_token, StringComparison.Ordinal) ?? false))
            {
                inner = null;
                break;
            }
        }

        return new TelegramNetworkException(method, $"Telegram {method}: {Redact(message)}", inner, isTimeout);
    }

    private HttpRequestMessage NewRequest(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        if (UseHttp2)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = uri.Scheme == Uri.UriSchemeHttps ? HttpVersionPolicy.RequestVersionOrLower : HttpVersionPolicy.RequestVersionExact;
        }

        return request;
    }

    private string Redact(string text) => text.Replace(_token, Redacted, StringComparison.Ordinal);
}
