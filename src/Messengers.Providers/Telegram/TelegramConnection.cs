using System.Globalization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Providers.Telegram.Updates;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Telegram;

/// <summary>
/// One bot's live connection: getMe at start, then updates by long polling or through a registered webhook, and a
/// send queue that paces outgoing messages under Telegram's flood limits.
/// </summary>
internal sealed partial class TelegramConnection(
    string instanceId,
    TelegramBotClient client,
    IConnectionCallbacks callbacks,
    TelegramMedia media,
    Uri? webhookUrl,
    Func<Task<string>>? webhookSecret,
    Func<string, Task<bool>>? verifyWebhookSecret,
    TelegramOptions options,
    TimeProvider time,
    ILogger logger) : IMessengerConnection
{
    private const int MaxCaptionLength = 1024;
    // message_reaction must be named: Telegram's default leaves it out. Groups send it only to bots that are administrators.
    private static readonly UpdateType[] AllowedUpdates = [UpdateType.Message, UpdateType.EditedMessage, UpdateType.ChannelPost, UpdateType.MessageReaction];
    private static readonly TimeSpan ShutdownCallTimeout = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private TelegramSendQueue? _queue; // created by the first send: an idle bot runs no queue loop
    private Task? _loop;
    private Task? _stopping;
    private int? _offset;
    private int? _confirmedOffset;
    private bool _webhookRequested;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        User me;
        try
        {
            me = await client.GetMe(cancellationToken);
        }
        catch (ApiRequestException exception) when (TelegramErrors.IsInvalidToken(exception))
        {
            await callbacks.OnStatusAsync(InstanceStatus.Failed, "invalid bot token");
            return;
        }
        catch (RequestException exception)
        {
            await callbacks.OnStatusAsync(InstanceStatus.Disconnected, $"Telegram unreachable: {exception.Message}");
            _loop = Task.Run(() => ReceiveUpdatesAsync(null, _stop.Token), CancellationToken.None);
            return;
        }

        var account = new AccountInfo(me.Id.ToString(CultureInfo.InvariantCulture), me.Username is null ? me.FirstName : "@" + me.Username);
        if (webhookUrl is null)
        {
            await callbacks.OnStatusAsync(InstanceStatus.Ready, null, account);
        }

        _loop = Task.Run(() => ReceiveUpdatesAsync(account, _stop.Token), CancellationToken.None);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _stopping ??= StopOnceAsync();
        }
    }

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ChatId chat = long.TryParse(message.ChatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var numeric) ? numeric : message.ChatId;
        var parseMode = TelegramSendOptions.ParseModeOf(message.Options);
        var silent = TelegramSendOptions.SilentOf(message.Options);
        var linkPreview = TelegramSendOptions.LinkPreviewOf(message.Options);
        ReplyParameters? reply = message.ReplyToMessageId is { } replyTo && replyTo.LastIndexOf('_') is var at and > 0
            && int.TryParse(replyTo[(at + 1)..], CultureInfo.InvariantCulture, out var replyId)
            ? new ReplyParameters { MessageId = replyId, AllowSendingWithoutReply = true }
            : null;

        var queue = Queue();
        Message sent;
        if (message.Media is { } file)
        {
            // A text too long for a caption follows the file as its own message.
            var caption = message.Text.Length is > 0 and <= MaxCaptionLength ? message.Text : null;
            sent = await queue.EnqueueAsync(numeric, ct => media.SendAsync(chat, file, caption, parseMode, reply, silent, ct), cancellationToken);
            if (message.Text.Length > MaxCaptionLength)
            {
                await queue.EnqueueAsync(numeric, ct => client.SendMessage(chat, message.Text, parseMode, linkPreviewOptions: linkPreview, disableNotification: silent, cancellationToken: ct), cancellationToken);
            }
        }
        else
        {
            sent = await queue.EnqueueAsync(numeric, ct => client.SendMessage(chat, message.Text, parseMode, reply, linkPreviewOptions: linkPreview, disableNotification: silent, cancellationToken: ct), cancellationToken);
        }

        return new SendResult(TelegramProvider.MessageId(sent.Chat.Id, sent.Id), new DateTimeOffset(DateTime.SpecifyKind(sent.Date, DateTimeKind.Utc)));
    }

    public async Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken)
    {
        if (typing && long.TryParse(chatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var numeric))
        {
            await client.SendChatAction(numeric, ChatAction.Typing, cancellationToken: cancellationToken);
        }
    }

    public Task MarkReadAsync(string chatId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("read receipts");

    /// <summary>
    /// A webhook delivery: one Update as JSON, authenticated by the secret token this connection gave setWebhook. It is
    /// stored the way polled updates are (the chat grain dedupes on the message id) before the caller answers 200, so
    /// Telegram's redeliveries neither lose nor double a message; a failed file download asks Telegram to try again.
    /// </summary>
    public async Task<InboundResult> ReceiveAsync(ProviderInbound inbound, CancellationToken cancellationToken)
    {
        if (inbound is not WebhookDelivery delivery)
        {
            throw new CapabilityNotSupportedException("this kind of input");
        }

        if (!delivery.Headers.TryGetValue(TelegramWebhook.SecretTokenHeader.ToLowerInvariant(), out var presented) || presented.Length == 0)
        {
            return new InboundResult(InboundOutcome.Unauthenticated, Detail: $"The {TelegramWebhook.SecretTokenHeader} header is missing.");
        }

        if (verifyWebhookSecret is null || !await verifyWebhookSecret(presented))
        {
            return new InboundResult(InboundOutcome.Forbidden, Detail: $"The {TelegramWebhook.SecretTokenHeader} header does not match this instance's webhook secret.");
        }

        Update? update;
        try
        {
            using var body = new MemoryStream(delivery.Body, writable: false);
            update = await UpdateParser.DeserializeAsync(body, cancellationToken);
        }
        catch (System.Text.Json.JsonException exception)
        {
            return new InboundResult(InboundOutcome.Invalid, Detail: $"The body is not a Telegram Update: {exception.Message}");
        }

        if (update is null || update.Id <= 0)
        {
            return new InboundResult(InboundOutcome.Invalid, Detail: "The body is not a Telegram Update: update_id is missing.");
        }

        Abstractions.Providers.InboundMessage? message;
        try
        {
            message = await media.ReadAsync(update, cancellationToken);
        }
        catch (RequestException exception)
        {
            return new InboundResult(InboundOutcome.RetryLater, Detail: $"Downloading the update's file failed: {exception.Message}");
        }

        if (message is null)
        {
            return InboundResult.Ignored;
        }

        await callbacks.OnMessageAsync(message);
        return InboundResult.Stored(message.MessageId, message.Timestamp);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        TelegramSendQueue? queue;
        lock (_gate)
        {
            queue = _queue;
        }

        if (queue is not null)
        {
            await queue.DisposeAsync();
        }

        _stop.Dispose();
    }

    private TelegramSendQueue Queue()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping is not null, this);
            return _queue ??= new TelegramSendQueue(options.SendQueue, time);
        }
    }

    private async Task StopOnceAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        using var timeout = new CancellationTokenSource(ShutdownCallTimeout);
        try
        {
            if (_webhookRequested)
            {
                // Updates wait at Telegram until the next start (webhook or polling) instead of failing deliveries.
                await client.DeleteWebhook(cancellationToken: timeout.Token);
            }
            else if (_offset is { } offset && offset != _confirmedOffset)
            {
                // Confirms what was stored since the last poll, so a restart does not fetch it again (it would be
                // deduplicated anyway). timeout 0 returns at once; limit 1 keeps the answer small.
                await client.GetUpdates(offset, 1, 0, null, timeout.Token);
            }
        }
        catch (Exception exception) when (exception is RequestException or OperationCanceledException)
        {
            logger.LogWarning("Telegram instance {InstanceId} could not tidy up at stop: {Reason}", instanceId, exception.Message);
        }
    }

    private Task ReceiveUpdatesAsync(AccountInfo? account, CancellationToken cancellationToken)
        => webhookUrl is null ? PollAsync(cancellationToken) : RegisterWebhookAsync(webhookUrl, account, cancellationToken);

    private async Task RegisterWebhookAsync(Uri url, AccountInfo? account, CancellationToken cancellationToken)
    {
        if (webhookSecret is null)
        {
            await callbacks.OnStatusAsync(InstanceStatus.Failed, "webhook mode needs the silo's Telegram webhook grain, which keeps the webhook secret");
            return;
        }

        var failures = 0;
        while (true)
        {
            try
            {
                var secret = await webhookSecret();
                _webhookRequested = true;
                await client.SetWebhook(url.ToString(), allowedUpdates: AllowedUpdates, secretToken: secret, cancellationToken: cancellationToken);
                logger.LogInformation("Telegram instance {InstanceId} receives updates by webhook at {WebhookUrl}", instanceId, url);
                await callbacks.OnStatusAsync(InstanceStatus.Ready, null, account);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ApiRequestException exception) when (TelegramErrors.IsUnauthorized(exception))
            {
                await callbacks.OnStatusAsync(InstanceStatus.Failed, "invalid bot token");
                return;
            }
            catch (ApiRequestException exception) when (exception.ErrorCode == 400)
            {
                await callbacks.OnStatusAsync(InstanceStatus.Failed, $"Telegram rejected the webhook URL {url}: {exception.Message}");
                return;
            }
            catch (Exception exception)
            {
                if (!await BackOffAsync("webhook registration", exception, ++failures, cancellationToken))
                {
                    return;
                }
            }
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var connected = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var offset = _offset;
                var updates = await client.GetUpdates(offset, 100, options.PollTimeoutSeconds, AllowedUpdates, cancellationToken);
                _confirmedOffset = offset;
                if (!connected)
                {
                    connected = true;
                    await callbacks.OnStatusAsync(InstanceStatus.Ready, null);
                }

                failures = 0;
                foreach (var update in updates)
                {
                    if (await media.ReadAsync(update, cancellationToken) is { } message)
                    {
                        await callbacks.OnMessageAsync(message);
                    }

                    _offset = update.Id + 1; // confirmed by the next poll, now that the message is stored
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ApiRequestException exception) when (TelegramErrors.IsUnauthorized(exception))
            {
                await callbacks.OnStatusAsync(InstanceStatus.Failed, "invalid bot token");
                return;
            }
            catch (Exception exception)
            {
                if (TelegramErrors.IsConflict(exception) && exception.Message.Contains("webhook", StringComparison.OrdinalIgnoreCase)
                    && await TryRemoveOwnWebhookAsync(cancellationToken))
                {
                    continue;
                }

                connected = false;
                if (!await BackOffAsync("polling", exception, ++failures, cancellationToken))
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Switching back to polling: a webhook this instance registered earlier (at our hook path) is deleted. A webhook
    /// pointing elsewhere belongs to someone else and stays; the 409 then shows in the status.
    /// </summary>
    private async Task<bool> TryRemoveOwnWebhookAsync(CancellationToken cancellationToken)
    {
        try
        {
            var info = await client.GetWebhookInfo(cancellationToken);
            if (!Uri.TryCreate(info.Url, UriKind.Absolute, out var registered)
                || !registered.AbsolutePath.EndsWith(TelegramProvider.HookPathPrefix + Uri.EscapeDataString(instanceId), StringComparison.Ordinal))
            {
                return false;
            }

            await client.DeleteWebhook(cancellationToken: cancellationToken);
            logger.LogInformation("Telegram instance {InstanceId} deleted its earlier webhook to poll again", instanceId);
            return true;
        }
        catch (Exception exception) when (exception is RequestException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Reports the failure and waits (retry_after, else exponential backoff with jitter); false once stopped.</summary>
    private async Task<bool> BackOffAsync(string activity, Exception exception, int failures, CancellationToken cancellationToken)
    {
        var reason = exception switch
        {
            ApiRequestException { ErrorCode: 409 } => "another getUpdates poller or a webhook is using this bot (409 Conflict)",
            RequestException => $"Telegram unreachable: {exception.Message}",
            _ => $"storing an incoming message failed: {exception.Message}",
        };
        logger.LogWarning("Telegram {Activity} of {InstanceId} failed ({Failures}): {Reason}", activity, instanceId, failures, reason);
        try
        {
            await callbacks.OnStatusAsync(InstanceStatus.Disconnected, reason);
        }
        catch (Exception statusFailure) when (statusFailure is not OperationCanceledException)
        {
            // The loop must outlive a status report that failed (e.g. the instance's silo just died): it is what
            // fetches the unstored updates again.
            logger.LogWarning("Telegram instance {InstanceId} could not report its status: {Reason}", instanceId, statusFailure.Message);
        }

        var delay = TelegramErrors.IsFloodWait(exception, out var floodWait) && floodWait is { } retryAfter ? retryAfter
            : TimeSpan.FromMilliseconds(Math.Min(options.MaxRetryDelay.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(failures - 1, 10)) * (0.8 + (Random.Shared.NextDouble() * 0.4))));
        try
        {
            await Task.Delay(delay, time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
