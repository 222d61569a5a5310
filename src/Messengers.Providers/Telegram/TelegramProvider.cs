using System.Globalization;
using System.Text.RegularExpressions;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Providers.Telegram.BotApi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Providers.Telegram;

/// <summary>Configuration section <c>Messengers:Telegram</c>.</summary>
public sealed class TelegramOptions
{
    /// <summary>The Bot API base URL for all instances; an instance setting <c>apiBaseUrl</c> overrides it.</summary>
    public string ApiBaseUrl { get; set; } = TelegramBotClient.DefaultBaseUrl.ToString();

    /// <summary>Seconds one getUpdates long poll may wait.</summary>
    public int PollTimeoutSeconds { get; set; } = 25;

    /// <summary>The longest pause between reconnection attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public TelegramSendQueueOptions SendQueue { get; set; } = new();
}

/// <summary>
/// Telegram bots (provider "telegram"): the bot token is the credential (<c>botToken</c>), checked with getMe at
/// start. Updates come by long polling; an update's offset is confirmed only after its message is stored.
/// </summary>
public sealed partial class TelegramProvider(IOptions<TelegramOptions> options, IMediaStore media, TimeProvider time, ILoggerFactory loggers) : IMessengerProvider, IDisposable
{
    public const string ProviderName = "telegram";
    public const string TokenCredential = "botToken";

    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities
        => ProviderCapabilities.Text | ProviderCapabilities.Media | ProviderCapabilities.Groups | ProviderCapabilities.Typing
            | ProviderCapabilities.History | ProviderCapabilities.Contacts | ProviderCapabilities.Reactions;

    public IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(settings);
        var errors = new Dictionary<string, string[]>();
        if (!credentials.TryGetValue(TokenCredential, out var token) || !TokenPattern().IsMatch(token))
        {
            errors["credentials.botToken"] = ["A bot token from @BotFather is required (digits, a colon, then at least 30 letters, digits, '-' or '_')."];
        }

        if (settings.TryGetValue("apiBaseUrl", out var url) && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            errors["settings.apiBaseUrl"] = ["apiBaseUrl must be an absolute URL."];
        }

        return errors;
    }

    public bool IsValidChatId(string chatId) => chatId is not null && ChatIdPattern().IsMatch(chatId);

    public IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks)
    {
        ArgumentNullException.ThrowIfNull(config);
        var baseUrl = new Uri(config.Settings.TryGetValue("apiBaseUrl", out var url) ? url : options.Value.ApiBaseUrl);
        var client = new TelegramBotClient(_http, config.Credentials[TokenCredential], baseUrl, loggers.CreateLogger<TelegramBotClient>());
        return new TelegramConnection(config.InstanceId, client, callbacks, media, options.Value, time, loggers.CreateLogger<TelegramConnection>());
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("^[0-9]{3,}:[A-Za-z0-9_-]{30,}$")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")]
    private static partial Regex ChatIdPattern();

    /// <summary>Our message id for a Telegram message: message ids are unique per chat only.</summary>
    public static string MessageId(long chatId, long messageId) => string.Create(CultureInfo.InvariantCulture, $"{chatId}_{messageId}");
}

internal sealed partial class TelegramConnection(
    string instanceId,
    TelegramBotClient client,
    IConnectionCallbacks callbacks,
    IMediaStore media,
    TelegramOptions options,
    TimeProvider time,
    ILogger logger) : IMessengerConnection
{
    private static readonly string[] AllowedUpdates = ["message", "edited_message", "channel_post"];
    private readonly CancellationTokenSource _stop = new();
    private readonly TelegramSendQueue _queue = new(options.SendQueue, time);
    private Task? _poller;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        User me;
        try
        {
            me = await client.GetMeAsync(cancellationToken);
        }
        catch (TelegramApiException exception) when (exception.ErrorCode is 401 or 404)
        {
            await callbacks.OnStatusAsync(InstanceStatus.Failed, "invalid bot token");
            return;
        }
        catch (TelegramException exception)
        {
            await callbacks.OnStatusAsync(InstanceStatus.Disconnected, $"Telegram unreachable: {exception.Message}");
            _poller = Task.Run(() => PollAsync(_stop.Token), CancellationToken.None);
            return;
        }

        await callbacks.OnStatusAsync(InstanceStatus.Ready, null, new AccountInfo(me.Id.ToString(CultureInfo.InvariantCulture), me.Username is null ? me.FirstName : "@" + me.Username));
        _poller = Task.Run(() => PollAsync(_stop.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_poller is not null)
        {
            await _poller;
        }
    }

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ChatId chat = long.TryParse(message.ChatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var numeric) ? numeric : message.ChatId;
        ParseMode? parseMode = message.Options.TryGetValue("parseMode", out var mode) && Enum.TryParse<ParseMode>(mode, ignoreCase: true, out var parsed) ? parsed : null;
        bool? silent = message.Options.TryGetValue("silent", out var s) && bool.TryParse(s, out var quiet) ? quiet : null;
        ReplyParameters? reply = message.ReplyToMessageId is { } replyTo && replyTo.LastIndexOf('_') is var at and > 0
            && long.TryParse(replyTo[(at + 1)..], CultureInfo.InvariantCulture, out var replyId)
            ? new ReplyParameters { MessageId = replyId, AllowSendingWithoutReply = true }
            : null;

        var sent = await _queue.EnqueueAsync(numeric, ct => client.SendMessageAsync(chat, message.Text, parseMode, reply, silent, cancellationToken: ct), cancellationToken);
        return new SendResult(TelegramProvider.MessageId(sent.Chat.Id, sent.MessageId), DateTimeOffset.FromUnixTimeSeconds(sent.Date));
    }

    public async Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken)
    {
        if (typing && long.TryParse(chatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var numeric))
        {
            await client.SendChatActionAsync(numeric, ChatAction.Typing, cancellationToken: cancellationToken);
        }
    }

    public Task MarkReadAsync(string chatId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("read receipts");

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        await _queue.DisposeAsync();
        _stop.Dispose();
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        long? offset = null;
        var failures = 0;
        var connected = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var updates = await client.GetUpdatesAsync(offset, 100, options.PollTimeoutSeconds, AllowedUpdates, cancellationToken);
                if (!connected)
                {
                    connected = true;
                    await callbacks.OnStatusAsync(InstanceStatus.Ready, null);
                }

                failures = 0;
                foreach (var update in updates)
                {
                    await HandleAsync(update, cancellationToken);
                    offset = update.UpdateId + 1; // confirmed on the next poll, after the message is stored
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (TelegramApiException exception) when (exception.ErrorCode == 401)
            {
                await callbacks.OnStatusAsync(InstanceStatus.Failed, "invalid bot token");
                return;
            }
            catch (Exception exception)
            {
                failures++;
                connected = false;
                var reason = exception is TelegramApiException { ErrorCode: 409 }
                    ? "another getUpdates poller or a webhook is using this bot (409 Conflict)"
                    : $"Telegram unreachable: {exception.Message}";
                logger.LogWarning("Telegram polling of {InstanceId} failed ({Failures}): {Reason}", instanceId, failures, reason);
                await callbacks.OnStatusAsync(InstanceStatus.Disconnected, reason);
                var delay = exception is TelegramApiException { RetryAfter: { } retryAfter } ? retryAfter
                    : TimeSpan.FromMilliseconds(Math.Min(options.MaxRetryDelay.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(failures - 1, 10)) * (0.8 + (Random.Shared.NextDouble() * 0.4))));
                try
                {
                    await Task.Delay(delay, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task HandleAsync(Update update, CancellationToken cancellationToken)
    {
        var parsed = UpdateParser.Parse(update);
        if (parsed is null || parsed.Kind is UpdateMessageKind.EditedMessage or UpdateMessageKind.EditedChannelPost)
        {
            return;
        }

        MediaRef? stored = null;
        var type = MessageTypes.Text;
        if (parsed.Media.Count > 0)
        {
            var reference = parsed.Media[0];
            type = reference.Kind switch
            {
                MediaKind.Photo => MessageTypes.Image,
                MediaKind.Video => MessageTypes.Video,
                MediaKind.Voice => MessageTypes.Voice,
                MediaKind.Audio => MessageTypes.Audio,
                MediaKind.Sticker => MessageTypes.Sticker,
                _ => MessageTypes.Document,
            };
            var file = await client.GetFileAsync(reference.FileId, cancellationToken);
            if (file.FilePath is { } path)
            {
                var bytes = await client.DownloadFileAsync(path, cancellationToken);
                using var content = new MemoryStream(bytes);
                stored = await media.SaveAsync(instanceId, content, reference.MimeType ?? (reference.Kind == MediaKind.Photo ? "image/jpeg" : "application/octet-stream"), reference.FileName ?? Path.GetFileName(path), cancellationToken);
            }
        }

        var chatId = parsed.ChatId.ToString(CultureInfo.InvariantCulture);
        await callbacks.OnMessageAsync(new Abstractions.Providers.InboundMessage
        {
            MessageId = TelegramProvider.MessageId(parsed.ChatId, parsed.MessageId),
            ChatId = chatId,
            From = parsed.Sender?.Id.ToString(CultureInfo.InvariantCulture),
            Body = parsed.TextOrCaption ?? "",
            Type = type,
            IsGroup = parsed.IsGroup,
            GroupId = parsed.IsGroup ? chatId : null,
            ContactName = parsed.IsGroup ? parsed.ChatTitle : parsed.Sender?.DisplayName,
            ReplyToMessageId = parsed.ReplyToMessageId is { } reply ? TelegramProvider.MessageId(parsed.ChatId, reply) : null,
            Media = stored,
            Timestamp = parsed.Date,
        });
    }
}
