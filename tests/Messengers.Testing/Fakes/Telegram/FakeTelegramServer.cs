using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Testing.Fakes.Telegram;

/// <summary>
/// A fake Telegram Bot API server on a real loopback socket (Kestrel on 127.0.0.1, port 0), following
/// shared/reference/protocols.md §1: <c>/bot{token}/{method}</c> routes (methods case-insensitive, GET or POST,
/// query/form/JSON/multipart parameters), the <c>{ok,result}</c> envelope with HTTP status = error_code, real error
/// strings, long-polling getUpdates with offset confirmation and 409 conflicts, webhooks with the secret header and
/// retries, file uploads, getFile and <c>/file/bot{token}/{path}</c> downloads, several bots at once.
/// <para>
/// Tests drive it through plain methods: <see cref="AddBot"/>, <see cref="SendUserMessage"/> and friends to play the
/// user, <see cref="GetSentMessages(string, long)"/> to read what the bot sent, and the fault switches
/// (<see cref="FloodEveryNthCall"/>, <see cref="FloodFor"/>, <see cref="FailNextCalls"/>).
/// </para>
/// Not modelled: the anti-busy-loop getUpdates quirk, the setWebhook once-per-second limit, parallel webhook deliveries
/// (up to max_connections; the fake delivers one at a time, in order, retrying after a fixed delay), inline keyboards and
/// callbacks, media groups, real entity parsing (HTML tags are stripped from the echoed text, Markdown is echoed).
/// </summary>
public sealed partial class FakeTelegramServer : IAsyncDisposable
{
    private const int MaxDownloadSize = 20 * 1024 * 1024;
    private static readonly string[] DefaultAllowedUpdates = ["message", "edited_message", "channel_post", "edited_channel_post", "business_message", "callback_query", "my_chat_member"];
    private static readonly HashSet<string> ChatActions = new(StringComparer.Ordinal)
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document",
        "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    };

    private readonly WebApplication _app;
    private readonly TimeProvider _time;
    private readonly Lock _botsGate = new();
    private readonly Dictionary<string, FakeTelegramBot> _bots = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _protocols = new();
    private readonly HttpClient _webhookClient = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private FakeTelegramServer(WebApplication app, TimeProvider time)
    {
        _app = app;
        _time = time;
    }

    /// <summary>Base URL to give the bot client, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    private static readonly Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider MimeTypes = new();

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Wait between webhook delivery attempts after a failure (real servers back off longer).</summary>
    public TimeSpan WebhookRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Starts the server. <paramref name="timeProvider"/> stamps dates and drives long-poll timeouts. With
    /// <paramref name="http2"/> it speaks cleartext HTTP/2 only (prior knowledge, as api.telegram.org speaks h2 over TLS).
    /// </summary>
    public static async Task<FakeTelegramServer> StartAsync(TimeProvider? timeProvider = null, bool http2 = false, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = http2 ? Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2 : Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
            o.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var app = builder.Build();
        var server = new FakeTelegramServer(app, timeProvider ?? TimeProvider.System);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        List<Task> loops;
        lock (_botsGate)
        {
            loops = [.. _bots.Values.Select(b => b.WebhookLoop).OfType<Task>()];
        }

        await Task.WhenAll(loops);
        await _app.StopAsync();
        await _app.DisposeAsync();
        _webhookClient.Dispose();
        _shutdown.Dispose();
    }

    // =====================================================================================================
    // Control API: bots
    // =====================================================================================================

    /// <summary>Registers a bot. The user id is the token's numeric prefix. Returns the bot's user.</summary>
    public FakeUser AddBot(string token, string? username = null, string? firstName = null)
    {
        if (!IsWellFormedToken(token))
        {
            throw new ArgumentException("A token looks like '123456:ABC…' (see protocols.md §1.1).", nameof(token));
        }

        var id = long.Parse(token.AsSpan(0, token.IndexOf(':', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        var bot = new FakeTelegramBot(token, id, username ?? $"fake{id}_bot", firstName ?? $"FakeBot{id}");
        lock (_botsGate)
        {
            _bots[token] = bot;
        }

        return new FakeUser(id, bot.FirstName, bot.Username, IsBot: true);
    }

    /// <summary>From now on the token answers 401 "Unauthorized".</summary>
    public void RevokeBot(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.Revoked = true;
            bot.ActivePoll?.Conflict.TrySetResult("Unauthorized");
        }
    }

    /// <summary>Calls the bot received for <paramref name="method"/> (case-insensitive), including failed ones.</summary>
    public int CallCount(string token, string method)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.CallCounts.GetValueOrDefault(method);
        }
    }

    public IReadOnlyList<FakeApiCall> GetCalls(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return [.. bot.Calls];
        }
    }

    /// <summary>The most getUpdates requests of the bot handled at once so far (one driver: 1).</summary>
    public int MaxConcurrentPolls(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.MaxPollsInFlight;
        }
    }

    /// <summary>True while a getUpdates request of the bot is parked in a long poll.</summary>
    public bool IsLongPollParked(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.ActivePoll is not null;
        }
    }

    /// <summary>Updates queued and not yet confirmed (getUpdates) or delivered (webhook).</summary>
    public int PendingUpdateCount(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.Pending.Count;
        }
    }

    /// <summary>How often each update was handed out by getUpdates (a count above 1 means it was fetched again).</summary>
    public IReadOnlyDictionary<long, int> GetUpdateDeliveries(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return new Dictionary<long, int>(bot.Deliveries);
        }
    }

    /// <summary>The webhook URL set for the bot; "" while it polls.</summary>
    public string GetWebhookUrl(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.WebhookUrl;
        }
    }

    /// <summary>The secret token given to setWebhook, as Telegram would echo it; null without a webhook.</summary>
    public string? GetWebhookSecret(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.WebhookSecret;
        }
    }

    public IReadOnlyList<FakeWebhookAttempt> GetWebhookAttempts(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return [.. bot.WebhookAttempts];
        }
    }

    // =====================================================================================================
    // Control API: faults
    // =====================================================================================================

    /// <summary>
    /// Every <paramref name="n"/>-th call of the given methods (default: the sending ones — send*, edit*,
    /// deleteMessage, setMessageReaction) answers 429 "Too Many Requests: retry after N". 0 switches it off.
    /// </summary>
    public void FloodEveryNthCall(string token, int n, int retryAfterSeconds = 1, params string[] methods)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.FloodEveryNth = n;
            bot.FloodCounter = 0;
            bot.FloodRetryAfter = retryAfterSeconds;
            bot.FloodMethods = methods.Length == 0 ? null : new HashSet<string>(methods, StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>Every call of the given methods (default: the sending ones) answers 429 for <paramref name="duration"/>.</summary>
    public void FloodFor(string token, TimeSpan duration, int retryAfterSeconds = 1, params string[] methods)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.FloodUntil = _time.GetUtcNow() + duration;
            bot.FloodRetryAfter = retryAfterSeconds;
            bot.FloodMethods = methods.Length == 0 ? null : new HashSet<string>(methods, StringComparer.OrdinalIgnoreCase);
        }
    }

    public void StopFlooding(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.FloodEveryNth = 0;
            bot.FloodUntil = DateTimeOffset.MinValue;
        }
    }

    /// <summary>
    /// Models Telegram's own flood control (protocols.md §1.3) for the send* methods: per private chat a burst of
    /// <see cref="PrivateChatBurst"/> then one per second, per group or channel 20 per minute, per bot 30 per second.
    /// A send over a limit answers 429 with the seconds until it would pass as <c>retry_after</c>.
    /// </summary>
    public void EnforceRateLimits(string token, bool enabled = true)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.EnforceLimits = enabled;
        }
    }

    /// <summary>Sends a private chat may burst above one per second (the FAQ allows "short bursts").</summary>
    public int PrivateChatBurst { get; set; } = 3;

    /// <summary>
    /// The next <paramref name="count"/> calls of the given methods (default: the sending ones) fail with
    /// <paramref name="statusCode"/>: 500 as a Bot API envelope "Internal Server Error", other 5xx as a proxy's HTML page.
    /// </summary>
    public void FailNextCalls(string token, int count, int statusCode = 500, params string[] methods)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.FailRemaining = count;
            bot.FailStatus = statusCode;
            bot.FailMethods = methods.Length == 0 ? null : new HashSet<string>(methods, StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// The group became a supergroup: from now on sends to <paramref name="groupChatId"/> answer 400
    /// "Bad Request: group chat was upgraded to a supergroup chat" with <c>parameters.migrate_to_chat_id</c>.
    /// </summary>
    public void MigrateGroup(string token, long groupChatId, long supergroupChatId)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            var group = RequireKnownChat(bot, groupChatId);
            group.MigratedTo = supergroupChatId;
            if (!bot.Chats.ContainsKey(supergroupChatId))
            {
                var supergroup = new FakeChat(supergroupChatId, "supergroup") { Title = group.Title };
                supergroup.Administrators.AddRange(group.Administrators);
                bot.Chats.Add(supergroupChatId, supergroup);
            }
        }
    }

    /// <summary>Every call of the bot waits this long before it is handled (to test client timeouts).</summary>
    public void SetResponseDelay(string token, TimeSpan delay)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            bot.ResponseDelay = delay;
        }
    }

    /// <summary>The user blocked the bot: sends to the chat answer 403 "Forbidden: bot was blocked by the user".</summary>
    public void BlockBot(string token, long chatId, bool blocked = true)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            RequireKnownChat(bot, chatId).BotBlocked = blocked;
        }
    }

    // =====================================================================================================
    // Control API: the user side
    // =====================================================================================================

    /// <summary>Makes a chat known to the bot without a message (sends to unknown chats answer "chat not found").</summary>
    public void AddChat(string token, long chatId, string chatType = "private", string? title = null, FakeUser? user = null)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            EnsureChat(bot, chatId, chatType, title, user ?? DefaultUser(chatId, chatType));
        }
    }

    /// <summary>Sets who getChatAdministrators lists for a group: the first is the creator.</summary>
    public void SetChatAdministrators(string token, long chatId, params FakeUser[] administrators)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            var chat = RequireKnownChat(bot, chatId);
            chat.Administrators.Clear();
            chat.Administrators.AddRange(administrators.Select((u, i) => (u, i == 0 ? "creator" : "administrator")));
        }
    }

    /// <summary>
    /// A user writes <paramref name="text"/> to the bot. <paramref name="chatType"/> is private, group, supergroup or
    /// channel (channel posts arrive as <c>channel_post</c> without <c>from</c>). Text starting with '/' carries a
    /// bot_command entity. Returns the queued update.
    /// </summary>
    public FakeUpdate SendUserMessage(string token, long chatId, string text, FakeUser? from = null, string chatType = "private", string? chatTitle = null, long? replyToMessageId = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return AddUserMessage(token, chatId, from, chatType, chatTitle, replyToMessageId, (_, message) =>
        {
            message["text"] = text;
            if (text.StartsWith('/'))
            {
                var length = text.IndexOf(' ', StringComparison.Ordinal) is var space and > 0 ? space : text.Length;
                message["entities"] = new JsonArray(new JsonObject { ["offset"] = 0, ["length"] = length, ["type"] = "bot_command" });
            }
        });
    }

    /// <summary>
    /// A user changes their reaction to a message of a known chat: <c>message_reaction</c> with the user's previous
    /// emojis as <c>old_reaction</c> and <paramref name="emojis"/> (none: removed) as <c>new_reaction</c>. Telegram sends
    /// it only to bots that ask for it in <c>allowed_updates</c> (and, in groups, are administrators).
    /// </summary>
    public FakeUpdate SendUserReaction(string token, long chatId, long messageId, FakeUser from, params string[] emojis)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(emojis);
        var bot = Bot(token);
        lock (bot.Gate)
        {
            var chat = RequireKnownChat(bot, chatId);
            var old = chat.UserReactions.GetValueOrDefault((messageId, from.Id), []);
            chat.UserReactions[(messageId, from.Id)] = emojis;
            static JsonArray Reactions(string[] list) => new([.. list.Select(e => (JsonNode)new JsonObject { ["type"] = "emoji", ["emoji"] = e })]);
            var updateId = QueueUpdate(bot, "message_reaction", new JsonObject
            {
                ["chat"] = chat.ToJson(),
                ["message_id"] = messageId,
                ["user"] = UserJson(from),
                ["date"] = _time.GetUtcNow().ToUnixTimeSeconds(),
                ["old_reaction"] = Reactions(old),
                ["new_reaction"] = Reactions(emojis),
            });
            return new FakeUpdate(updateId, messageId, chatId);
        }
    }

    /// <summary>A user sends a photo; its bytes become downloadable through getFile.</summary>
    public FakeUpdate SendUserPhoto(string token, long chatId, byte[] content, string? caption = null, FakeUser? from = null, string chatType = "private", string? chatTitle = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        return AddUserMessage(token, chatId, from, chatType, chatTitle, null, (bot, message) =>
        {
            var file = StoreFile(bot, "photo", content, "photo.jpg", "image/jpeg", null);
            message["photo"] = PhotoSizes(file);
            if (caption is not null)
            {
                message["caption"] = caption;
            }
        });
    }

    /// <summary>A user sends a document; its bytes become downloadable through getFile.</summary>
    public FakeUpdate SendUserDocument(string token, long chatId, byte[] content, string fileName, string mimeType = "application/octet-stream", string? caption = null, FakeUser? from = null, string chatType = "private", string? chatTitle = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        return AddUserMessage(token, chatId, from, chatType, chatTitle, null, (bot, message) =>
        {
            var file = StoreFile(bot, "document", content, fileName, mimeType, null);
            message["document"] = FileJson(file);
            if (caption is not null)
            {
                message["caption"] = caption;
            }
        });
    }

    /// <summary>A user sends a voice note (OGG/Opus bytes).</summary>
    public FakeUpdate SendUserVoice(string token, long chatId, byte[] content, int durationSeconds = 1, FakeUser? from = null, string chatType = "private")
    {
        ArgumentNullException.ThrowIfNull(content);
        return AddUserMessage(token, chatId, from, chatType, null, null, (bot, message) =>
        {
            var file = StoreFile(bot, "voice", content, null, "audio/ogg", null);
            var json = FileJson(file);
            json["duration"] = durationSeconds;
            message["voice"] = json;
        });
    }

    // =====================================================================================================
    // Control API: what the bot sent
    // =====================================================================================================

    /// <summary>Messages the bot sent to one chat, in order (deleted ones included, flagged).</summary>
    public IReadOnlyList<FakeSentMessage> GetSentMessages(string token, long chatId)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return [.. bot.Sent.Where(m => m.ChatId == chatId)];
        }
    }

    /// <summary>Messages the bot sent to any chat, in order of arrival.</summary>
    public IReadOnlyList<FakeSentMessage> GetSentMessages(string token)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return [.. bot.Sent];
        }
    }

    /// <summary>
    /// Whether updates of <paramref name="kind"/> would be queued for the bot now: its last <c>allowed_updates</c>, or
    /// Telegram's default. Updates created before a bot asks for a kind are not delivered, so a test sending a kind off
    /// the default list waits for this first.
    /// </summary>
    public bool AcceptsUpdates(string token, string kind)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return (bot.AllowedUpdates is { Length: > 0 } allowed ? allowed : DefaultAllowedUpdates).Contains(kind);
        }
    }

    /// <summary>Chat actions (typing, upload_photo, …) the bot sent to a chat.</summary>
    public IReadOnlyList<string> GetChatActions(string token, long chatId)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.Chats.TryGetValue(chatId, out var chat) ? [.. chat.Actions] : [];
        }
    }

    /// <summary>The bot's current reactions on a message, as the JSON array it sent; null if none.</summary>
    public string? GetReaction(string token, long chatId, long messageId)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.Chats.TryGetValue(chatId, out var chat) ? chat.Reactions.GetValueOrDefault(messageId) : null;
        }
    }

    /// <summary>The bytes stored under a file id (uploads by the bot and files sent by users).</summary>
    public byte[]? GetFileContent(string token, string fileId)
    {
        var bot = Bot(token);
        lock (bot.Gate)
        {
            return bot.FilesById.TryGetValue(fileId, out var file) ? file.Content : null;
        }
    }

    /// <summary>Waits until the bot has sent at least <paramref name="count"/> messages to the chat.</summary>
    public async Task<IReadOnlyList<FakeSentMessage>> WaitForSentMessagesAsync(string token, long chatId, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var sent = GetSentMessages(token, chatId);
            if (sent.Count >= count)
            {
                return sent;
            }

            await Task.Delay(10, cts.Token);
        }
    }

    // =====================================================================================================
    // HTTP
    // =====================================================================================================

    /// <summary>The HTTP protocols requests came in with (e.g. <c>HTTP/1.1</c>, <c>HTTP/2</c>).</summary>
    public IReadOnlyCollection<string> RequestProtocols => [.. _protocols.Keys];

    private async Task HandleAsync(HttpContext context)
    {
        _protocols.TryAdd(context.Request.Protocol, 0);
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/file/bot", StringComparison.Ordinal))
        {
            await DownloadAsync(context, path["/file/bot".Length..]);
            return;
        }

        var slash = path.IndexOf('/', 1);
        if (!path.StartsWith("/bot", StringComparison.Ordinal) || slash < 0)
        {
            await WriteAsync(context, Error(404, "Not Found"));
            return;
        }

        var token = path[4..slash];
        var method = path[(slash + 1)..];
        if (method.StartsWith("test/", StringComparison.Ordinal))
        {
            method = method[5..];
        }

        if (!IsWellFormedToken(token))
        {
            await WriteAsync(context, Error(401, "Unauthorized: invalid token specified"));
            return;
        }

        FakeTelegramBot? bot;
        lock (_botsGate)
        {
            _bots.TryGetValue(token, out bot);
        }

        if (bot is null || bot.Revoked)
        {
            await WriteAsync(context, Error(401, "Unauthorized"));
            return;
        }

        FakeParameters parameters;
        try
        {
            parameters = await FakeParameters.ReadAsync(context.Request, context.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or IOException or BadHttpRequestException)
        {
            await WriteAsync(context, Error(400, "Bad Request: can't parse request parameters"));
            return;
        }

        lock (bot.Gate)
        {
            bot.CallCounts[method] = bot.CallCounts.GetValueOrDefault(method) + 1;
        }

        ApiResult result;
        using (var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _shutdown.Token))
        {
            try
            {
                TimeSpan delay;
                lock (bot.Gate)
                {
                    delay = bot.ResponseDelay;
                }

                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, aborted.Token);
                }

                result = await InvokeAsync(bot, method, parameters, aborted.Token);
            }
            catch (OperationCanceledException)
            {
                context.Abort(); // the client went away or the fake is stopping: no answer, like a dropped connection
                return;
            }
        }

        lock (bot.Gate)
        {
            bot.Calls.Add(new FakeApiCall(method, _time.GetUtcNow(), result.Status));
        }

        await WriteAsync(context, result);
    }

    private async Task DownloadAsync(HttpContext context, string rest)
    {
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        FakeTelegramBot? bot = null;
        if (slash > 0)
        {
            lock (_botsGate)
            {
                _bots.TryGetValue(rest[..slash], out bot);
            }
        }

        FakeStoredFile? file = null;
        if (bot is not null && !bot.Revoked)
        {
            var filePath = Uri.UnescapeDataString(rest[(slash + 1)..]);
            lock (bot.Gate)
            {
                bot.FilesByPath.TryGetValue(filePath, out file);
            }
        }

        if (file is null)
        {
            await WriteAsync(context, Error(404, "Not Found"));
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = file.MimeType ?? "application/octet-stream";
        context.Response.ContentLength = file.Content.Length;
        await context.Response.Body.WriteAsync(file.Content, context.RequestAborted);
    }

    private static async Task WriteAsync(HttpContext context, ApiResult result)
    {
        context.Response.StatusCode = result.Status;
        if (result.RawBody is { } raw)
        {
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync(raw, context.RequestAborted);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(result.Body!.ToJsonString(), context.RequestAborted);
    }

    // =====================================================================================================
    // Methods
    // =====================================================================================================

    private async Task<ApiResult> InvokeAsync(FakeTelegramBot bot, string method, FakeParameters p, CancellationToken cancellationToken)
    {
        var name = method.ToLowerInvariant();
        if (InjectedFault(bot, name) is { } fault)
        {
            return fault;
        }

        try
        {
            return name switch
            {
                "getme" => GetMe(bot),
                "getupdates" => await GetUpdatesAsync(bot, p, cancellationToken),
                "setwebhook" => SetWebhook(bot, p),
                "deletewebhook" => DeleteWebhook(bot, p),
                "getwebhookinfo" => GetWebhookInfo(bot),
                "sendmessage" => SendMessage(bot, method, p),
                "sendphoto" => SendMedia(bot, method, "photo", p),
                "senddocument" => SendMedia(bot, method, "document", p),
                "sendaudio" => SendMedia(bot, method, "audio", p),
                "sendvideo" => SendMedia(bot, method, "video", p),
                "sendvoice" => SendMedia(bot, method, "voice", p),
                "sendchataction" => SendChatAction(bot, p),
                "getfile" => GetFile(bot, p),
                "getchat" => GetChat(bot, p),
                "getchatadministrators" => GetChatAdministrators(bot, p),
                "editmessagetext" => EditMessageText(bot, p),
                "deletemessage" => DeleteMessage(bot, p),
                "setmessagereaction" => SetMessageReaction(bot, p),
                _ => Error(404, "Not Found: method not found"),
            };
        }
        catch (FakeBadRequestException ex)
        {
            return Error(ex.Code, ex.Message, ex.Parameters);
        }
    }

    private ApiResult? InjectedFault(FakeTelegramBot bot, string method)
    {
        var sending = method.StartsWith("send", StringComparison.Ordinal) || method.StartsWith("edit", StringComparison.Ordinal)
            || method is "deletemessage" or "setmessagereaction";
        lock (bot.Gate)
        {
            if (bot.FailRemaining > 0 && (bot.FailMethods?.Contains(method) ?? sending))
            {
                bot.FailRemaining--;
                return bot.FailStatus == 500
                    ? Error(500, "Internal Server Error")
                    : new ApiResult(bot.FailStatus, null, $"<html><body><h1>{bot.FailStatus} Bad Gateway</h1></body></html>");
            }

            if (bot.FloodMethods?.Contains(method) ?? sending)
            {
                var flooded = bot.FloodUntil > _time.GetUtcNow();
                if (!flooded && bot.FloodEveryNth > 0)
                {
                    bot.FloodCounter++;
                    flooded = bot.FloodCounter % bot.FloodEveryNth == 0;
                }

                if (flooded)
                {
                    return Error(429, $"Too Many Requests: retry after {bot.FloodRetryAfter}", new JsonObject { ["retry_after"] = bot.FloodRetryAfter });
                }
            }
        }

        return null;
    }

    /// <summary>Applies <see cref="EnforceRateLimits"/> to a send that is about to succeed; records it when it passes.</summary>
    private ApiResult? RateLimited(FakeTelegramBot bot, FakeChat chat)
    {
        if (!bot.EnforceLimits)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        var wait = TimeSpan.Zero;
        Trim(bot.RecentSends, now - TimeSpan.FromSeconds(1));
        if (bot.RecentSends.Count >= 30)
        {
            wait = bot.RecentSends.Peek() + TimeSpan.FromSeconds(1) - now;
        }

        if (chat.Id > 0)
        {
            // Token bucket: PrivateChatBurst tokens, one back per second.
            var tokens = Math.Min(PrivateChatBurst, chat.SendTokens + (now - chat.TokensAt).TotalSeconds);
            chat.SendTokens = tokens;
            chat.TokensAt = now;
            if (tokens < 1)
            {
                wait = Max(wait, TimeSpan.FromSeconds(1 - tokens));
            }
        }
        else
        {
            Trim(chat.RecentSends, now - TimeSpan.FromMinutes(1));
            if (chat.RecentSends.Count >= 20)
            {
                wait = Max(wait, chat.RecentSends.Peek() + TimeSpan.FromMinutes(1) - now);
            }
        }

        if (wait > TimeSpan.Zero)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            return Error(429, $"Too Many Requests: retry after {seconds}", new JsonObject { ["retry_after"] = seconds });
        }

        bot.RecentSends.Enqueue(now);
        chat.RecentSends.Enqueue(now);
        if (chat.Id > 0)
        {
            chat.SendTokens -= 1;
        }

        return null;

        static void Trim(Queue<DateTimeOffset> sends, DateTimeOffset before)
        {
            while (sends.Count > 0 && sends.Peek() <= before)
            {
                sends.Dequeue();
            }
        }

        static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
    }

    private static ApiResult GetMe(FakeTelegramBot bot)
    {
        var user = bot.UserJson();
        user["can_join_groups"] = true;
        user["can_read_all_group_messages"] = false;
        user["supports_inline_queries"] = false;
        user["can_connect_to_business"] = false;
        user["has_main_web_app"] = false;
        return Ok(user);
    }

    private async Task<ApiResult> GetUpdatesAsync(FakeTelegramBot bot, FakeParameters p, CancellationToken cancellationToken)
    {
        var offset = p.GetLong("offset") ?? 0;
        var limit = (int)Math.Clamp(p.GetLong("limit") ?? 100, 1, 100);
        var timeout = (int)Math.Clamp(p.GetLong("timeout") ?? 0, 0, 50);
        var allowed = p.GetStringArray("allowed_updates");
        var poll = new FakePoll();
        lock (bot.Gate)
        {
            bot.PollsInFlight++;
            bot.MaxPollsInFlight = Math.Max(bot.MaxPollsInFlight, bot.PollsInFlight);
        }

        try
        {
            return await LongPollAsync(bot, poll, offset, limit, timeout, allowed, cancellationToken);
        }
        finally
        {
            lock (bot.Gate)
            {
                bot.PollsInFlight--;
            }
        }
    }

    private async Task<ApiResult> LongPollAsync(FakeTelegramBot bot, FakePoll poll, long offset, int limit, int timeout, string[]? allowed, CancellationToken cancellationToken)
    {
        lock (bot.Gate)
        {
            if (bot.WebhookUrl.Length > 0)
            {
                return Error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
            }

            if (allowed is not null)
            {
                bot.AllowedUpdates = allowed;
            }

            if (offset < 0)
            {
                var keep = (int)Math.Min(-offset, bot.Pending.Count);
                bot.Pending.RemoveRange(0, bot.Pending.Count - keep);
            }
            else if (offset > 0)
            {
                bot.Pending.RemoveAll(u => (long)u["update_id"]! < offset);
            }

            bot.ActivePoll?.Conflict.TrySetResult("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
            bot.ActivePoll = poll;
        }

        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(timeout);
        try
        {
            while (true)
            {
                Task changed;
                lock (bot.Gate)
                {
                    if (poll.Conflict.Task.IsCompleted)
                    {
                        var description = poll.Conflict.Task.Result;
                        return description == "Unauthorized" ? Error(401, description) : Error(409, description);
                    }

                    var remaining = deadline - _time.GetUtcNow();
                    if (bot.Pending.Count > 0 || remaining <= TimeSpan.Zero)
                    {
                        var batch = bot.Pending.Take(limit).ToList();
                        foreach (var update in batch)
                        {
                            var id = (long)update["update_id"]!;
                            bot.Deliveries[id] = bot.Deliveries.GetValueOrDefault(id) + 1;
                        }

                        return Ok(new JsonArray([.. batch.Select(u => (JsonNode)u.DeepClone())]));
                    }

                    changed = bot.UpdatesChanged.Task;
                }

                var wait = deadline - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    await Task.WhenAny(changed, poll.Conflict.Task, Task.Delay(wait, _time, delayCancel.Token));
                    await delayCancel.CancelAsync();
                }

                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            lock (bot.Gate)
            {
                if (bot.ActivePoll == poll)
                {
                    bot.ActivePoll = null;
                }
            }
        }
    }

    private ApiResult SetWebhook(FakeTelegramBot bot, FakeParameters p)
    {
        var url = p.Get("url") ?? throw new FakeBadRequestException("Bad Request: bad webhook: an HTTPS URL must be provided for webhook");
        if (url.Length == 0)
        {
            return DeleteWebhook(bot, p);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new FakeBadRequestException("Bad Request: bad webhook: invalid webhook URL specified");
        }

        var secret = p.Get("secret_token");
        if (secret is not null && !SecretTokenPattern().IsMatch(secret))
        {
            throw new FakeBadRequestException("Bad Request: secret token contains unallowed characters");
        }

        var allowed = p.GetStringArray("allowed_updates");
        bool changed;
        lock (bot.Gate)
        {
            changed = bot.WebhookUrl != url || bot.WebhookSecret != secret;
            bot.WebhookUrl = url;
            bot.WebhookSecret = secret;
            bot.WebhookMaxConnections = (int?)p.GetLong("max_connections") ?? 40;
            if (allowed is not null)
            {
                bot.AllowedUpdates = allowed;
            }

            if (p.GetBool("drop_pending_updates") == true)
            {
                bot.Pending.Clear();
            }

            bot.ActivePoll?.Conflict.TrySetResult("Conflict: terminated by setWebhook request");
            if (bot.WebhookStop is null || bot.WebhookStop.IsCancellationRequested)
            {
                bot.WebhookStop = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
                var stop = bot.WebhookStop.Token;
                bot.WebhookLoop = Task.Run(() => DeliverWebhooksAsync(bot, stop));
            }

            bot.SignalUpdates();
        }

        return Ok(true, changed ? "Webhook was set" : "Webhook is already set");
    }

    private static ApiResult DeleteWebhook(FakeTelegramBot bot, FakeParameters p)
    {
        lock (bot.Gate)
        {
            var had = bot.WebhookUrl.Length > 0;
            bot.WebhookUrl = "";
            bot.WebhookSecret = null;
            bot.WebhookLastErrorDate = null;
            bot.WebhookLastErrorMessage = null;
            bot.WebhookStop?.Cancel();
            if (p.GetBool("drop_pending_updates") == true)
            {
                bot.Pending.Clear();
            }

            bot.SignalUpdates();
            return Ok(true, had ? "Webhook was deleted" : "Webhook is already deleted");
        }
    }

    private static ApiResult GetWebhookInfo(FakeTelegramBot bot)
    {
        lock (bot.Gate)
        {
            var info = new JsonObject
            {
                ["url"] = bot.WebhookUrl,
                ["has_custom_certificate"] = false,
                ["pending_update_count"] = bot.Pending.Count,
            };
            if (bot.WebhookUrl.Length > 0)
            {
                info["max_connections"] = bot.WebhookMaxConnections ?? 40;
            }

            if (bot.WebhookLastErrorDate is { } date)
            {
                info["last_error_date"] = date;
                info["last_error_message"] = bot.WebhookLastErrorMessage;
            }

            if (bot.AllowedUpdates is { } allowed)
            {
                info["allowed_updates"] = new JsonArray([.. allowed.Select(a => (JsonNode)a)]);
            }

            return Ok(info);
        }
    }

    private async Task DeliverWebhooksAsync(FakeTelegramBot bot, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            JsonObject? next;
            string url;
            string? secret;
            Task changed;
            lock (bot.Gate)
            {
                if (bot.WebhookUrl.Length == 0)
                {
                    return;
                }

                next = bot.Pending.FirstOrDefault();
                url = bot.WebhookUrl;
                secret = bot.WebhookSecret;
                changed = bot.UpdatesChanged.Task;
            }

            if (next is null)
            {
                try
                {
                    await changed.WaitAsync(stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            var updateId = (long)next["update_id"]!;
            int? status = null;
            string? error = null;
            string? answer = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url)
                {
                    Content = new StringContent(next.ToJsonString(), Encoding.UTF8, "application/json"),
                };
                // Headers of the real WebhookActor: gzip/deflate accepted, Basic auth from the URL's userinfo, the secret.
                request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate");
                if (request.RequestUri!.UserInfo.Length > 0)
                {
                    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(request.RequestUri.UserInfo))));
                    request.RequestUri = new UriBuilder(request.RequestUri) { UserName = "", Password = "" }.Uri;
                }

                if (secret is not null)
                {
                    request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret);
                }

                using var response = await _webhookClient.SendAsync(request, stop);
                status = (int)response.StatusCode;
                answer = await response.Content.ReadAsStringAsync(stop);
                if (!response.IsSuccessStatusCode)
                {
                    error = $"Wrong response from the webhook: {status} {response.ReasonPhrase}";
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                error = ex is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } ? "Connection refused" : "Connection timed out";
            }

            lock (bot.Gate)
            {
                bot.WebhookAttempts.Add(new FakeWebhookAttempt(updateId, _time.GetUtcNow(), status, error));
                if (error is null)
                {
                    bot.Pending.RemoveAll(u => (long)u["update_id"]! == updateId);
                }
                else
                {
                    bot.WebhookLastErrorDate = _time.GetUtcNow().ToUnixTimeSeconds();
                    bot.WebhookLastErrorMessage = error;
                }
            }

            if (error is null)
            {
                await ExecuteWebhookAnswerAsync(bot, answer);
            }
            else
            {
                try
                {
                    await Task.Delay(WebhookRetryDelay, _time, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>A webhook answer may carry a method call: <c>{"method":"sendMessage","chat_id":…,"text":…}</c>.</summary>
    private async Task ExecuteWebhookAnswerAsync(FakeTelegramBot bot, string? answer)
    {
        if (string.IsNullOrWhiteSpace(answer))
        {
            return;
        }

        try
        {
            var parameters = FakeParameters.FromJson(answer);
            if (parameters.Get("method") is { Length: > 0 } method)
            {
                var result = await InvokeAsync(bot, method, parameters, _shutdown.Token);
                lock (bot.Gate)
                {
                    bot.CallCounts[method] = bot.CallCounts.GetValueOrDefault(method) + 1;
                    bot.Calls.Add(new FakeApiCall(method, _time.GetUtcNow(), result.Status));
                }
            }
        }
        catch (JsonException)
        {
            // Not a method call; ignored like the real server does.
        }
    }

    private ApiResult SendMessage(FakeTelegramBot bot, string method, FakeParameters p)
    {
        var text = p.Get("text");
        var parseMode = ParseModeOf(p.Get("parse_mode"));
        lock (bot.Gate)
        {
            var chat = RequireWritableChat(bot, p);
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new FakeBadRequestException("Bad Request: message text is empty");
            }

            if (RateLimited(bot, chat) is { } flood)
            {
                return flood;
            }

            var shown = parseMode == "HTML" ? WebUtility.HtmlDecode(HtmlTag().Replace(text, "")) : text;
            if (shown.Length > 4096)
            {
                throw new FakeBadRequestException("Bad Request: message is too long");
            }

            var message = NewBotMessage(bot, chat, p, out var replyTo);
            message["text"] = shown;
            var linkPreview = p.GetObject("link_preview_options");
            bool? previewDisabled = linkPreview?["is_disabled"]?.GetValue<bool>() ?? p.GetBool("disable_web_page_preview");
            if (linkPreview is not null)
            {
                message["link_preview_options"] = linkPreview.DeepClone();
            }

            bot.Sent.Add(new FakeSentMessage
            {
                Method = method,
                ChatId = chat.Id,
                MessageId = (long)message["message_id"]!,
                Text = text,
                ParseMode = ParseModeOf(p.Get("parse_mode")), // as the server reads it: Telegram.Bot sends "Html"
                ReplyToMessageId = replyTo,
                DisableNotification = p.GetBool("disable_notification") ?? false,
                LinkPreviewDisabled = previewDisabled,
                At = _time.GetUtcNow(),
                Parameters = p.Values,
            });
            return Ok(message.DeepClone());
        }
    }

    private ApiResult SendMedia(FakeTelegramBot bot, string method, string kind, FakeParameters p)
    {
        var caption = p.Get("caption");
        ParseModeOf(p.Get("parse_mode"));
        if (caption is { Length: > 1024 })
        {
            throw new FakeBadRequestException("Bad Request: message caption is too long");
        }

        lock (bot.Gate)
        {
            var chat = RequireWritableChat(bot, p);
            if (RateLimited(bot, chat) is { } flood)
            {
                return flood;
            }

            FakeStoredFile file;
            string? url = null;
            var value = p.Get(kind);
            var upload = p.Files.GetValueOrDefault(kind);
            if (value is not null && value.StartsWith("attach://", StringComparison.Ordinal))
            {
                upload = p.Files.GetValueOrDefault(value["attach://".Length..])
                    ?? throw new FakeBadRequestException($"Bad Request: there is no {kind} in the request");
                value = null;
            }

            if (upload is not null)
            {
                var limit = kind == "photo" ? 10 * 1024 * 1024 : 50 * 1024 * 1024;
                if (upload.Content.Length > limit)
                {
                    throw new FakeBadRequestException("Bad Request: file is too big");
                }

                // Like the Bot API server (tdlib names the MIME type after the file's extension, not the part's
                // Content-Type, which clients such as Telegram.Bot do not send); the part's type only when the extension says nothing.
                var mimeType = upload.FileName is { } name && MimeTypes.TryGetContentType(name, out var guessed) ? guessed : upload.ContentType;
                file = StoreFile(bot, kind, upload.Content, upload.FileName, mimeType, null);
            }
            else if (string.IsNullOrEmpty(value))
            {
                throw new FakeBadRequestException($"Bad Request: there is no {kind} in the request");
            }
            else if (value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                url = value;
                file = StoreFile(bot, kind, [], Path.GetFileName(new Uri(value).AbsolutePath), null, value);
            }
            else if (bot.FilesById.TryGetValue(value, out var existing))
            {
                file = existing;
            }
            else
            {
                throw new FakeBadRequestException("Bad Request: wrong file_id or the file is temporarily unavailable");
            }

            var message = NewBotMessage(bot, chat, p, out var replyTo);
            message[kind] = kind == "photo" ? PhotoSizes(file) : FileJson(file);
            if (kind is "audio" or "video" or "voice")
            {
                message[kind]!["duration"] = p.GetLong("duration") ?? 0;
            }

            if (kind == "video")
            {
                message[kind]!["width"] = p.GetLong("width") ?? 0;
                message[kind]!["height"] = p.GetLong("height") ?? 0;
            }

            if (caption is not null)
            {
                message["caption"] = caption;
            }

            bot.Sent.Add(new FakeSentMessage
            {
                Method = method,
                ChatId = chat.Id,
                MessageId = (long)message["message_id"]!,
                Caption = caption,
                ParseMode = ParseModeOf(p.Get("parse_mode")), // as the server reads it: Telegram.Bot sends "Html"
                ReplyToMessageId = replyTo,
                DisableNotification = p.GetBool("disable_notification") ?? false,
                MediaKind = kind,
                FileId = file.FileId,
                MediaUrl = url,
                FileName = file.FileName,
                MimeType = file.MimeType,
                Content = file.Content,
                At = _time.GetUtcNow(),
                Parameters = p.Values,
            });
            return Ok(message.DeepClone());
        }
    }

    private static ApiResult SendChatAction(FakeTelegramBot bot, FakeParameters p)
    {
        var action = p.Get("action");
        lock (bot.Gate)
        {
            var chat = RequireWritableChat(bot, p);
            if (action is null || !ChatActions.Contains(action))
            {
                throw new FakeBadRequestException("Bad Request: wrong parameter action in request");
            }

            chat.Actions.Add(action);
            return Ok(true);
        }
    }

    private static ApiResult GetFile(FakeTelegramBot bot, FakeParameters p)
    {
        var fileId = p.Get("file_id") ?? throw new FakeBadRequestException("Bad Request: invalid file_id");
        lock (bot.Gate)
        {
            if (!bot.FilesById.TryGetValue(fileId, out var file))
            {
                throw new FakeBadRequestException("Bad Request: wrong file_id or the file is temporarily unavailable");
            }

            if (file.Content.Length > MaxDownloadSize)
            {
                throw new FakeBadRequestException("Bad Request: file is too big");
            }

            return Ok(new JsonObject
            {
                ["file_id"] = file.FileId,
                ["file_unique_id"] = file.FileUniqueId,
                ["file_size"] = file.Content.Length,
                ["file_path"] = file.Path,
            });
        }
    }

    private static ApiResult GetChat(FakeTelegramBot bot, FakeParameters p)
    {
        lock (bot.Gate)
        {
            var chat = RequireChat(bot, p);
            var json = chat.ToJson();
            json["accent_color_id"] = 0;
            json["max_reaction_count"] = 11;
            json["accepted_gift_types"] = new JsonObject
            {
                ["unlimited_gifts"] = false,
                ["limited_gifts"] = false,
                ["unique_gifts"] = false,
                ["premium_subscription"] = false,
            };
            return Ok(json);
        }
    }

    private static ApiResult GetChatAdministrators(FakeTelegramBot bot, FakeParameters p)
    {
        lock (bot.Gate)
        {
            var chat = RequireChat(bot, p);
            if (chat.Type == "private")
            {
                throw new FakeBadRequestException("Bad Request: there are no administrators in the private chat");
            }

            var members = new JsonArray();
            foreach (var (user, status) in chat.Administrators)
            {
                var member = new JsonObject { ["status"] = status, ["user"] = UserJson(user), ["is_anonymous"] = false };
                if (status == "administrator")
                {
                    member["can_be_edited"] = false;
                    member["can_manage_chat"] = true;
                    member["can_delete_messages"] = true;
                }

                members.Add(member);
            }

            return Ok(members);
        }
    }

    private ApiResult EditMessageText(FakeTelegramBot bot, FakeParameters p)
    {
        var text = p.Get("text");
        var parseMode = ParseModeOf(p.Get("parse_mode"));
        lock (bot.Gate)
        {
            var chat = RequireChat(bot, p);
            var messageId = p.GetLong("message_id") ?? throw new FakeBadRequestException("Bad Request: message identifier is not specified");
            if (!chat.BotMessageIds.Contains(messageId) || !chat.Messages.TryGetValue(messageId, out var message))
            {
                throw new FakeBadRequestException("Bad Request: message to edit not found");
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                throw new FakeBadRequestException("Bad Request: message text is empty");
            }

            var shown = parseMode == "HTML" ? WebUtility.HtmlDecode(HtmlTag().Replace(text, "")) : text;
            if ((string?)message["text"] == shown)
            {
                throw new FakeBadRequestException("Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message");
            }

            message["text"] = shown;
            message["edit_date"] = _time.GetUtcNow().ToUnixTimeSeconds();
            if (bot.Sent.LastOrDefault(s => s.ChatId == chat.Id && s.MessageId == messageId) is { } sent)
            {
                sent.Text = text;
                sent.ParseMode = ParseModeOf(p.Get("parse_mode"));
                sent.EditCount++;
            }

            return Ok(message.DeepClone());
        }
    }

    private static ApiResult DeleteMessage(FakeTelegramBot bot, FakeParameters p)
    {
        lock (bot.Gate)
        {
            var chat = RequireChat(bot, p);
            var messageId = p.GetLong("message_id") ?? throw new FakeBadRequestException("Bad Request: message identifier is not specified");
            if (!chat.Messages.Remove(messageId))
            {
                throw new FakeBadRequestException("Bad Request: message to delete not found");
            }

            chat.BotMessageIds.Remove(messageId);
            if (bot.Sent.LastOrDefault(s => s.ChatId == chat.Id && s.MessageId == messageId) is { } sent)
            {
                sent.IsDeleted = true;
            }

            return Ok(true);
        }
    }

    private static ApiResult SetMessageReaction(FakeTelegramBot bot, FakeParameters p)
    {
        lock (bot.Gate)
        {
            var chat = RequireChat(bot, p);
            var messageId = p.GetLong("message_id") ?? throw new FakeBadRequestException("Bad Request: message identifier is not specified");
            if (!chat.Messages.ContainsKey(messageId))
            {
                throw new FakeBadRequestException("Bad Request: MESSAGE_ID_INVALID");
            }

            var reaction = p.Get("reaction") ?? "[]";
            if (JsonNode.Parse(reaction) is not JsonArray array)
            {
                throw new FakeBadRequestException("Bad Request: can't parse reaction types JSON object");
            }

            if (array.Count == 0)
            {
                chat.Reactions.Remove(messageId);
            }
            else
            {
                chat.Reactions[messageId] = array.ToJsonString();
            }

            return Ok(true);
        }
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    private FakeUpdate AddUserMessage(string token, long chatId, FakeUser? from, string chatType, string? chatTitle, long? replyToMessageId, Action<FakeTelegramBot, JsonObject> fill)
    {
        if (chatType is not ("private" or "group" or "supergroup" or "channel"))
        {
            throw new ArgumentException("chatType is private, group, supergroup or channel", nameof(chatType));
        }

        var bot = Bot(token);
        lock (bot.Gate)
        {
            var user = from ?? DefaultUser(chatId, chatType);
            var chat = EnsureChat(bot, chatId, chatType, chatTitle, user);
            var messageId = chat.NextMessageId++;
            var message = new JsonObject { ["message_id"] = messageId };
            if (chatType == "channel")
            {
                message["sender_chat"] = chat.ToJson();
            }
            else
            {
                message["from"] = UserJson(user);
            }

            message["chat"] = chat.ToJson();
            message["date"] = _time.GetUtcNow().ToUnixTimeSeconds();
            if (replyToMessageId is { } replyTo && chat.Messages.TryGetValue(replyTo, out var original))
            {
                message["reply_to_message"] = original.DeepClone();
            }

            fill(bot, message);
            chat.Messages[messageId] = message;
            var updateId = QueueUpdate(bot, chatType == "channel" ? "channel_post" : "message", message);
            return new FakeUpdate(updateId, messageId, chatId);
        }
    }

    /// <summary>
    /// Takes the next update id and queues the update when the bot's <c>allowed_updates</c> (or Telegram's default, which
    /// leaves out <c>message_reaction</c>) lets it through. Call under the bot's gate.
    /// </summary>
    private static long QueueUpdate(FakeTelegramBot bot, string kind, JsonObject payload)
    {
        var updateId = bot.NextUpdateId++;
        if ((bot.AllowedUpdates is { Length: > 0 } allowed ? allowed : DefaultAllowedUpdates).Contains(kind))
        {
            bot.Pending.Add(new JsonObject { ["update_id"] = updateId, [kind] = payload.DeepClone() });
            bot.SignalUpdates();
        }

        return updateId;
    }

    private JsonObject NewBotMessage(FakeTelegramBot bot, FakeChat chat, FakeParameters p, out long? replyTo)
    {
        replyTo = null;
        var replyParameters = p.GetObject("reply_parameters");
        var target = replyParameters?["message_id"]?.GetValue<long>() ?? p.GetLong("reply_to_message_id");
        var allowWithout = replyParameters?["allow_sending_without_reply"]?.GetValue<bool>() ?? p.GetBool("allow_sending_without_reply") ?? false;
        var messageId = chat.NextMessageId;
        var message = new JsonObject
        {
            ["message_id"] = messageId,
            ["from"] = bot.UserJson(),
            ["chat"] = chat.ToJson(),
            ["date"] = _time.GetUtcNow().ToUnixTimeSeconds(),
        };
        if (target is { } id)
        {
            if (chat.Messages.TryGetValue(id, out var original))
            {
                message["reply_to_message"] = original.DeepClone();
                replyTo = id;
            }
            else if (!allowWithout)
            {
                throw new FakeBadRequestException("Bad Request: message to be replied not found");
            }
        }

        chat.NextMessageId++;
        chat.Messages[messageId] = message;
        chat.BotMessageIds.Add(messageId);
        return message;
    }

    private static FakeStoredFile StoreFile(FakeTelegramBot bot, string kind, byte[] content, string? fileName, string? mimeType, string? sourceUrl)
    {
        var n = ++bot.FileCounter;
        var (folder, extension) = kind switch
        {
            "photo" => ("photos", ".jpg"),
            "document" => ("documents", Path.GetExtension(fileName) is { Length: > 0 } e ? e : ".bin"),
            "audio" => ("music", Path.GetExtension(fileName) is { Length: > 0 } e ? e : ".mp3"),
            "video" => ("videos", ".mp4"),
            "voice" => ("voice", ".oga"),
            _ => ("files", ".bin"),
        };
        var unique = Convert.ToBase64String(BitConverter.GetBytes(bot.Id * 1000 + n)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var file = new FakeStoredFile(
            FileId: $"{kind[..2].ToUpperInvariant()}ACAgIAAxkBAA{unique}{Guid.NewGuid():N}",
            FileUniqueId: $"AgAD{unique}",
            Kind: kind,
            Path: $"{folder}/file_{n}{extension}",
            Content: content,
            FileName: kind == "photo" ? null : fileName,
            MimeType: kind == "photo" ? "image/jpeg" : mimeType,
            SourceUrl: sourceUrl);
        bot.FilesById[file.FileId] = file;
        bot.FilesByPath[file.Path] = file;
        return file;
    }

    private static JsonArray PhotoSizes(FakeStoredFile file) =>
        new(new JsonObject
        {
            ["file_id"] = file.FileId,
            ["file_unique_id"] = file.FileUniqueId,
            ["width"] = 0,
            ["height"] = 0,
            ["file_size"] = file.Content.Length,
        });

    private static JsonObject FileJson(FakeStoredFile file)
    {
        var json = new JsonObject { ["file_id"] = file.FileId, ["file_unique_id"] = file.FileUniqueId };
        if (file.FileName is not null)
        {
            json["file_name"] = file.FileName;
        }

        if (file.MimeType is not null)
        {
            json["mime_type"] = file.MimeType;
        }

        json["file_size"] = file.Content.Length;
        return json;
    }

    private static JsonObject UserJson(FakeUser user)
    {
        var json = new JsonObject { ["id"] = user.Id, ["is_bot"] = user.IsBot, ["first_name"] = user.FirstName };
        if (user.LastName is not null)
        {
            json["last_name"] = user.LastName;
        }

        if (user.Username is not null)
        {
            json["username"] = user.Username;
        }

        json["language_code"] = user.LanguageCode;
        return json;
    }

    private static FakeUser DefaultUser(long chatId, string chatType) =>
        chatType == "private" ? new FakeUser(chatId, $"User{chatId}", $"user{chatId}") : new FakeUser(1000, "User1000", "user1000");

    private static FakeChat EnsureChat(FakeTelegramBot bot, long chatId, string chatType, string? title, FakeUser user)
    {
        if (!bot.Chats.TryGetValue(chatId, out var chat))
        {
            chat = new FakeChat(chatId, chatType);
            bot.Chats.Add(chatId, chat);
            if (chatType is "group" or "supergroup")
            {
                chat.Administrators.Add((user, "creator"));
            }
        }

        chat.Type = chatType;
        if (chatType == "private")
        {
            chat.FirstName = user.FirstName;
            chat.LastName = user.LastName;
            chat.Username = user.Username;
        }
        else
        {
            chat.Title = title ?? chat.Title ?? $"Chat {chatId}";
        }

        return chat;
    }

    private static FakeChat RequireKnownChat(FakeTelegramBot bot, long chatId) =>
        bot.Chats.TryGetValue(chatId, out var chat) ? chat : throw new ArgumentException($"Chat {chatId} is unknown to the bot.", nameof(chatId));

    private static FakeChat RequireChat(FakeTelegramBot bot, FakeParameters p)
    {
        var raw = p.Get("chat_id");
        if (string.IsNullOrEmpty(raw))
        {
            throw new FakeBadRequestException("Bad Request: chat_id is empty");
        }

        if (raw.StartsWith('@'))
        {
            return bot.Chats.Values.FirstOrDefault(c => string.Equals("@" + c.Username, raw, StringComparison.OrdinalIgnoreCase))
                ?? throw new FakeBadRequestException("Bad Request: chat not found");
        }

        return long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) && bot.Chats.TryGetValue(id, out var chat)
            ? chat
            : throw new FakeBadRequestException("Bad Request: chat not found");
    }

    private static FakeChat RequireWritableChat(FakeTelegramBot bot, FakeParameters p)
    {
        var chat = RequireChat(bot, p);
        if (chat.MigratedTo is { } newId)
        {
            throw new FakeBadRequestException("Bad Request: group chat was upgraded to a supergroup chat", 400, new JsonObject { ["migrate_to_chat_id"] = newId });
        }

        if (chat.BotBlocked)
        {
            throw new FakeBadRequestException(chat.Type == "private" ? "Forbidden: bot was blocked by the user" : "Forbidden: bot was kicked from the group chat", 403);
        }

        return chat;
    }

    /// <summary>Normalises parse_mode like the server (case-insensitive; none/empty = plain).</summary>
    private static string? ParseModeOf(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "none" => null,
        "html" => "HTML",
        "markdownv2" => "MarkdownV2",
        "markdown" => "Markdown",
        _ => throw new FakeBadRequestException("Bad Request: unsupported parse_mode"),
    };

    private FakeTelegramBot Bot(string token)
    {
        lock (_botsGate)
        {
            return _bots.TryGetValue(token, out var bot) ? bot : throw new ArgumentException("Unknown bot token; call AddBot first.", nameof(token));
        }
    }

    /// <summary>The server's syntax check (ClientManager.cpp): has ':', does not start with '0', no '/', ≤ 80 chars.</summary>
    private static bool IsWellFormedToken(string token) =>
        token.Length is > 0 and <= 80 && token.Contains(':', StringComparison.Ordinal) && token[0] != '0' && !token.Contains('/', StringComparison.Ordinal)
        && long.TryParse(token.AsSpan(0, token.IndexOf(':', StringComparison.Ordinal)), NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static ApiResult Ok(JsonNode? result, string? description = null)
    {
        var body = new JsonObject { ["ok"] = true, ["result"] = result };
        if (description is not null)
        {
            body["description"] = description;
        }

        return new ApiResult(200, body, null);
    }

    private static ApiResult Error(int code, string description, JsonObject? parameters = null)
    {
        var body = new JsonObject { ["ok"] = false, ["error_code"] = code, ["description"] = description };
        if (parameters is not null)
        {
            body["parameters"] = parameters;
        }

        return new ApiResult(code, body, null);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,256}$")]
    private static partial Regex SecretTokenPattern();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex HtmlTag();

    private readonly record struct ApiResult(int Status, JsonNode? Body, string? RawBody);

    private sealed class FakeBadRequestException(string message, int code = 400, JsonObject? parameters = null) : Exception(message)
    {
        public int Code { get; } = code;

        public JsonObject? Parameters { get; } = parameters;
    }
}
