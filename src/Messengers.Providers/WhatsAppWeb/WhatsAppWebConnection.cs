using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>
/// One instance in WhatsApp Web. A supervisor loop runs one page session at a time: it restores the saved storage
/// state into a fresh context, loads the page, injects wa-js and bridges its events to the callbacks. A crashed page or
/// browser ends the session and the loop restarts it with capped exponential backoff; an exhausted QR rotation or a
/// logout ends the loop. The loop drives the account only while it holds the account's lease (one silo at a time).
/// </summary>
public sealed partial class WhatsAppWebConnection : IMessengerConnection
{
    private readonly string _instanceId;
    private readonly BrowserPool _pool;
    private readonly IWhatsAppSessionStore _sessions;
    private readonly IWhatsAppAccountLeases _leases;
    private readonly IMediaStore _media;
    private readonly IConnectionCallbacks _callbacks;
    private readonly WhatsAppWebOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, SendResult> _sentByClientId = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _saving = new(1, 1);
    private Task? _runner;
    private SessionRun? _current;
    private volatile bool _loggingOut;

    internal WhatsAppWebConnection(string instanceId, BrowserPool pool, IWhatsAppSessionStore sessions, IWhatsAppAccountLeases leases, IMediaStore media, IConnectionCallbacks callbacks, WhatsAppWebOptions options, TimeProvider time, ILogger logger)
    {
        _instanceId = instanceId;
        _pool = pool;
        _sessions = sessions;
        _leases = leases;
        _media = media;
        _callbacks = callbacks;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The current page, while a session runs (tests drive the fake page through it).</summary>
    public IPage? Page => Volatile.Read(ref _current)?.Page;

    /// <summary>Whether the account is logged in and WhatsApp Web is ready to send.</summary>
    public bool IsReady => Volatile.Read(ref _current)?.Ready == true;

    /// <summary>Page sessions started so far (the first start and every restart).</summary>
    public int SessionCount { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_runner is not null)
            {
                return Task.CompletedTask;
            }

            _runner = Task.Run(() => DriveAsync(_stop.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        Task? runner;
        lock (_lock)
        {
            runner = _runner;
        }

        if (runner is not null)
        {
            await runner;
        }
    }

    public async Task LogoutAsync(CancellationToken cancellationToken)
    {
        _loggingOut = true;
        if (Volatile.Read(ref _current)?.Page is { } page)
        {
            try
            {
                await page.EvaluateAsync(PageScripts.Logout);
            }
            catch (PlaywrightException exception)
            {
                _logger.LogWarning("Logging out {InstanceId} in the page failed: {Error}", _instanceId, exception.Message);
            }
        }

        await StopAsync(cancellationToken);
        await _sessions.ClearAsync(_instanceId, cancellationToken);
        await _callbacks.OnQrAsync(null);
        await _callbacks.OnStatusAsync(InstanceStatus.Stopped, "logged out");
    }

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.ClientMessageId is { } clientId && _sentByClientId.TryGetValue(clientId, out var earlier))
        {
            return earlier;
        }

        var page = ReadyPage();
        JsonElement reply;
        if (message.Media is { } mediaRef)
        {
            var opened = await _media.OpenAsync(_instanceId, mediaRef.MediaId, cancellationToken)
                ?? throw new InvalidOperationException($"Media {mediaRef.MediaId} is not in the media store.");
            string dataUrl;
            await using (var content = opened.Content)
            {
                using var buffer = new MemoryStream();
                await content.CopyToAsync(buffer, cancellationToken);
                dataUrl = $"data:{opened.Media.ContentType};base64,{Convert.ToBase64String(buffer.GetBuffer(), 0, (int)buffer.Length)}";
            }

            var type = message.Options.TryGetValue("mediaType", out var requested) ? requested
                : opened.Media.ContentType.StartsWith("image/", StringComparison.Ordinal) ? "image"
                : opened.Media.ContentType.StartsWith("video/", StringComparison.Ordinal) ? "video"
                : opened.Media.ContentType.StartsWith("audio/", StringComparison.Ordinal) ? "audio"
                : "document";
            reply = await page.EvaluateAsync<JsonElement>(PageScripts.SendFile, new object?[]
            {
                message.ChatId, dataUrl, message.Text.Length > 0 ? message.Text : null, opened.Media.FileName, opened.Media.ContentType, type, message.ReplyToMessageId,
            });
        }
        else
        {
            reply = await page.EvaluateAsync<JsonElement>(PageScripts.SendText, new object?[] { message.ChatId, message.Text, message.ReplyToMessageId });
        }

        var id = reply.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
        if (string.IsNullOrEmpty(id))
        {
            throw new InvalidOperationException("WhatsApp Web did not return a message id.");
        }

        var seconds = reply.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : 0;
        var result = new SendResult(id, seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : _time.GetUtcNow());
        if (message.ClientMessageId is { } key)
        {
            if (_sentByClientId.Count > 10_000)
            {
                _sentByClientId.Clear();
            }

            _sentByClientId[key] = result;
        }

        return result;
    }

    public async Task MarkReadAsync(string chatId, CancellationToken cancellationToken)
        => await ReadyPage().EvaluateAsync(PageScripts.MarkRead, chatId);

    public async Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken)
        => await ReadyPage().EvaluateAsync(PageScripts.SetTyping, new object[] { chatId, typing });

    /// <summary>
    /// Pairing by phone number instead of QR: the 8-character code the user types on the phone. While the code is
    /// pending (<see cref="WhatsAppWebOptions.PairingCodeLifetime"/>) running out of QR codes does not fail the instance.
    /// </summary>
    public async Task<string> RequestPairingCodeAsync(string phoneNumber, CancellationToken cancellationToken)
    {
        var run = Volatile.Read(ref _current);
        if (run?.Page is not { } page || run.Authenticated)
        {
            throw new InstanceNotReadyException("The instance is not waiting for pairing.");
        }

        string code;
        try
        {
            code = (await page.EvaluateAsync<string>(PageScripts.PairingCode, phoneNumber)).Trim();
        }
        catch (PlaywrightException exception)
        {
            throw new InstanceNotReadyException($"WhatsApp Web gave no pairing code: {exception.Message.Split('\n')[0]}", exception);
        }

        if (code.Length == 0)
        {
            throw new InstanceNotReadyException("WhatsApp Web gave an empty pairing code.");
        }

        var until = _time.GetUtcNow() + _options.PairingCodeLifetime;
        lock (run)
        {
            run.PairingCodeUntil = until;
            run.PairingCodePending = true;
        }

        _ = ExpirePairingCodeAsync(run, until);
        _logger.LogInformation("WhatsApp Web of {InstanceId} issued a phone pairing code", _instanceId);
        return code;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stop.Dispose();
        _saving.Dispose();
    }

    private IPage ReadyPage()
        => Volatile.Read(ref _current) is { Ready: true, Page: { } page } ? page : throw new InstanceNotReadyException("WhatsApp Web is not ready.");

    private async Task SuperviseAsync(CancellationToken stop)
    {
        var failures = 0;
        await ReportStatusAsync(InstanceStatus.Starting, null);
        while (!stop.IsCancellationRequested)
        {
            SessionEnd end;
            CancellationToken driving;
            try
            {
                driving = await HoldLeaseAsync(stop);
                end = await RunSessionAsync(driving);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (!_driving)
            {
                end = new SessionEnd(SessionEndKind.LeaseLost, _leaseLostReason ?? "the account lease was lost", false);
            }
            catch (ObjectDisposedException)
            {
                return; // the host is shutting down and disposed the browser pool
            }
            catch (Exception exception)
            {
                _logger.LogWarning(exception, "WhatsApp Web session of {InstanceId} failed", _instanceId);
                end = new SessionEnd(SessionEndKind.Crashed, exception.Message, false);
            }

            switch (end.Kind)
            {
                case SessionEndKind.Stopped:
                    return;
                case SessionEndKind.LeaseLost:
                    await ReportQrAsync(null);
                    continue; // HoldLeaseAsync waits for the lease and reports which silo drives the account meanwhile
                case SessionEndKind.QrNotScanned:
                    await ReportQrAsync(null);
                    await ReportStatusAsync(InstanceStatus.Failed, end.Reason);
                    return;
                case SessionEndKind.LoggedOut:
                    if (_loggingOut)
                    {
                        return;
                    }

                    await _sessions.ClearAsync(_instanceId, CancellationToken.None);
                    await ReportQrAsync(null);
                    await ReportStatusAsync(InstanceStatus.Failed, end.Reason);
                    return;
                case SessionEndKind.Fatal:
                    await ReportStatusAsync(InstanceStatus.Failed, end.Reason);
                    return;
            }

            failures = end.WasReady ? 1 : failures + 1;
            if (failures > _options.MaxRestarts)
            {
                await ReportStatusAsync(InstanceStatus.Failed, $"gave up after {_options.MaxRestarts} restarts: {end.Reason}");
                return;
            }

            var delay = TimeSpan.FromMilliseconds(Math.Min(
                _options.MaxRestartDelay.TotalMilliseconds,
                _options.RestartDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20)) * (0.8 + (Random.Shared.NextDouble() * 0.4))));
            _logger.LogWarning("WhatsApp Web session of {InstanceId} ended ({Reason}); restart {Failures} in {Delay}", _instanceId, end.Reason, failures, delay);
            await ReportStatusAsync(InstanceStatus.Disconnected, end.Reason);
            try
            {
                await Task.Delay(delay, _time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<SessionEnd> RunSessionAsync(CancellationToken stop)
    {
        var run = new SessionRun();
        SessionCount++;
        Task? dispatcher = null;
        try
        {
            using (await _pool.EnterStartAsync(stop))
            {
                var storageState = await _sessions.LoadAsync(_instanceId, stop);
                run.Lease = await _pool.CreateContextAsync(_instanceId, storageState, stop);
                var context = run.Lease.Context;
                await context.AddInitScriptAsync(PageScripts.WppConfig);
                await context.ExposeFunctionAsync<string, bool>(PageScripts.BindingName, json => run.Events.Writer.TryWrite(json));
                var page = await context.NewPageAsync();
                page.Crash += (_, _) => run.End(new SessionEnd(SessionEndKind.Crashed, "page crashed", run.Ready));
                page.Close += (_, _) => run.End(new SessionEnd(SessionEndKind.Crashed, "page closed", run.Ready));
                _ = run.Lease.Browser.Gone.ContinueWith(_ => run.End(new SessionEnd(SessionEndKind.Crashed, "browser disconnected", run.Ready)), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                run.Page = page;
                Volatile.Write(ref _current, run);
                dispatcher = Task.Run(() => DispatchAsync(run), CancellationToken.None);

                var timeout = (float)_options.StartTimeout.TotalMilliseconds;
                await page.GotoAsync(_options.Url, new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = timeout });
                if (_options.InjectWaJs && !await page.EvaluateAsync<bool>(PageScripts.HasWpp))
                {
                    var bundle = _options.ResolveWaJsPath();
                    if (!File.Exists(bundle))
                    {
                        return new SessionEnd(SessionEndKind.Fatal, $"the wa-js bundle is missing at {bundle} (run tests/setup-npm.sh)", false);
                    }

                    await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = bundle });
                }

                if (!await page.EvaluateAsync<bool>(PageScripts.HasWpp))
                {
                    return new SessionEnd(SessionEndKind.Fatal, "window.WPP is missing after injection", false);
                }

                // Holds the start slot until wa-js reports ready, so concurrent starts stay bounded.
                await page.EvaluateAsync(PageScripts.Bridge).WaitAsync(_options.StartTimeout, _time, stop);

                // WhatsApp Web reloads itself (new version, some errors); the reloaded document has neither wa-js nor the
                // bridge, so a reload ends the session and the restart injects again (with the saved session).
                page.Load += (_, _) => run.End(new SessionEnd(SessionEndKind.Crashed, "the page reloaded", run.Ready));
            }

            _ = SaveSessionPeriodicallyAsync(run);
            var ended = await run.Ended.WaitAsync(stop);
            if (ended.Kind == SessionEndKind.Crashed && run.Lease.Browser.IsAlive)
            {
                // A killed browser closes its pages before it reports the disconnect: give it a moment, so the restart
                // launches a fresh browser instead of failing once more on the dying one.
                await Task.WhenAny(run.Lease.Browser.Gone, Task.Delay(TimeSpan.FromMilliseconds(500), _time, CancellationToken.None));
            }

            return ended;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await SaveSessionAsync(run);
            throw;
        }
        catch (Exception exception) when (exception is PlaywrightException or TimeoutException && run.Ended.IsCompleted)
        {
            return await run.Ended;
        }
        finally
        {
            run.Events.Writer.TryComplete();
            if (dispatcher is not null)
            {
                await dispatcher;
            }

            Interlocked.CompareExchange(ref _current, null, run);
            if (run.Lease is not null)
            {
                await run.Lease.DisposeAsync();
            }

            run.Dispose();
        }
    }

    private async Task SaveSessionAsync(SessionRun run)
    {
        // Only the lease holder saves: a silo that lost the account must not overwrite the new driver's session.
        if (!run.Authenticated || run.Lease is not { Browser.IsAlive: true } lease || _loggingOut || !_driving)
        {
            return;
        }

        await _saving.WaitAsync();
        try
        {
            var state = await lease.Context.StorageStateAsync(new BrowserContextStorageStateOptions { IndexedDB = true });
            if (!_loggingOut)
            {
                await _sessions.SaveAsync(_instanceId, state, CancellationToken.None);
                _logger.LogInformation("Saved the WhatsApp Web session of {InstanceId} ({Bytes} bytes of storage state)", _instanceId, state.Length);
            }
        }
        catch (Exception exception)
        {
            _logger.LogWarning("Saving the WhatsApp Web session of {InstanceId} failed: {Error}", _instanceId, exception.Message);
        }
        finally
        {
            _saving.Release();
        }
    }

    /// <summary>Saves the storage state of a Ready session every <see cref="WhatsAppWebOptions.SessionSaveInterval"/>, so rotated keys are kept.</summary>
    private async Task SaveSessionPeriodicallyAsync(SessionRun run)
    {
        CancellationToken cancelled;
        try
        {
            cancelled = run.Cancelled;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        while (!cancelled.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.SessionSaveInterval, _time, cancelled);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (run.Ready)
            {
                await SaveSessionAsync(run);
            }
        }
    }

    private async Task DispatchAsync(SessionRun run)
    {
        await foreach (var json in run.Events.Reader.ReadAllAsync())
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                await HandleAsync(run, document.RootElement);
            }
            catch (Exception exception)
            {
                _logger.LogError(exception, "Handling a WhatsApp Web event of {InstanceId} failed", _instanceId);
            }
        }
    }

    private async Task HandleAsync(SessionRun run, JsonElement e)
    {
        switch (Str(e, "type"))
        {
            case "qr":
                await OnQrCodeAsync(run, Str(e, "code"));
                break;
            case "authenticated":
                if (!run.Authenticated)
                {
                    run.Authenticated = true;
                    if (run.QrCount > 0)
                    {
                        await ReportQrAsync(null);
                    }

                    await ReportStatusAsync(InstanceStatus.Authenticated, null);
                }

                break;
            case "ready":
                var wid = Str(e, "wid");
                var wasAuthenticated = run.Authenticated;
                run.Authenticated = true;
                run.Ready = true;
                if (!wasAuthenticated && run.QrCount > 0)
                {
                    await ReportQrAsync(null);
                }

                await ReportStatusAsync(InstanceStatus.Ready, null, wid is null ? null : new AccountInfo(wid, null));
                await SaveSessionAsync(run);
                break;
            case "logout":
                run.End(new SessionEnd(SessionEndKind.LoggedOut, Str(e, "reason") is { Length: > 0 } reason ? $"logged out ({reason})" : "logged out", run.Ready));
                break;
            case "message":
                if (e.TryGetProperty("msg", out var msg) && ToInbound(msg) is { } inbound)
                {
                    if (inbound.Type is MessageTypes.Image or MessageTypes.Video or MessageTypes.Audio or MessageTypes.Voice or MessageTypes.Document or MessageTypes.Sticker)
                    {
                        inbound = inbound with { Media = await DownloadMediaAsync(run, inbound.MessageId, Str(msg, "mimetype"), Str(msg, "filename")) };
                    }

                    await _callbacks.OnMessageAsync(inbound);
                }

                break;
            case "reaction":
                if (e.TryGetProperty("reaction", out var reaction) && ToReaction(reaction) is { } reacted)
                {
                    await _callbacks.OnMessageAsync(reacted);
                }

                break;
            case "ack":
                var ack = e.TryGetProperty("ack", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetInt32() : 0;
                if (e.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
                {
                    foreach (var id in ids.EnumerateArray())
                    {
                        if (id.GetString() is { } messageId)
                        {
                            await _callbacks.OnAckAsync(messageId, MapAck(ack));
                        }
                    }
                }

                break;
            case "error":
                _logger.LogWarning("The WhatsApp Web bridge of {InstanceId} reported: {Error}", _instanceId, Str(e, "message"));
                break;
        }
    }

    /// <summary>Downloads a message's media in the page into the media store; null (logged) when it cannot.</summary>
    private async Task<MediaRef?> DownloadMediaAsync(SessionRun run, string messageId, string? mimetype, string? fileName)
    {
        if (run.Page is not { } page)
        {
            return null;
        }

        try
        {
            var downloaded = await page.EvaluateAsync<JsonElement>(PageScripts.DownloadMedia, messageId);
            var bytes = Convert.FromBase64String(Str(downloaded, "data") ?? "");
            using var content = new MemoryStream(bytes);
            return await _media.SaveAsync(_instanceId, content, mimetype ?? Str(downloaded, "type") ?? "application/octet-stream", fileName, CancellationToken.None);
        }
        catch (Exception exception) when (exception is PlaywrightException or FormatException or IOException or InvalidOperationException)
        {
            _logger.LogWarning("Downloading the media of message {MessageId} of {InstanceId} failed: {Error}", messageId, _instanceId, exception.Message);
            return null;
        }
    }

    private async Task OnQrCodeAsync(SessionRun run, string? code)
    {
        if (code is null || run.Authenticated)
        {
            return;
        }

        var count = ++run.QrCount;
        if (count > _options.MaxQrCodes)
        {
            EndQrRotation(run);
            return;
        }

        var lifetime = count == 1 ? _options.FirstQrLifetime : _options.QrLifetime;
        await ReportQrAsync(new QrCodeInfo(code, _time.GetUtcNow() + lifetime));
        if (count == 1)
        {
            await ReportStatusAsync(InstanceStatus.QrReady, null);
        }

        if (count == _options.MaxQrCodes)
        {
            _ = ExpireLastQrAsync(run, count, lifetime);
        }
    }

    private async Task ExpireLastQrAsync(SessionRun run, int count, TimeSpan lifetime)
    {
        try
        {
            await Task.Delay(lifetime, _time, run.Cancelled);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (run.QrCount == count && !run.Authenticated)
        {
            EndQrRotation(run);
        }
    }

    /// <summary>The QR codes ran out: the instance fails "QR not scanned", unless a phone pairing code is still pending.</summary>
    private static void EndQrRotation(SessionRun run)
    {
        lock (run)
        {
            if (run.PairingCodePending)
            {
                run.QrExhausted = true;
                return;
            }
        }

        run.End(new SessionEnd(SessionEndKind.QrNotScanned, "QR not scanned", false));
    }

    private async Task ExpirePairingCodeAsync(SessionRun run, DateTimeOffset until)
    {
        try
        {
            await Task.Delay(_options.PairingCodeLifetime, _time, run.Cancelled);
        }
        catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }

        // Decided by the pending flag, not by the clock (the delay may end a tick before the wall clock reaches the
        // deadline), under the run's lock so that the QR rotation ending at the same moment is seen either way. A code
        // requested meanwhile moved the deadline and has its own expiry.
        lock (run)
        {
            if (run.PairingCodeUntil != until)
            {
                return;
            }

            run.PairingCodePending = false;
            if (run.Authenticated || !run.QrExhausted)
            {
                return;
            }
        }

        run.End(new SessionEnd(SessionEndKind.QrNotScanned, "QR not scanned and the pairing code not entered", false));
    }

    /// <summary>A serialized message as ours; own messages only with <paramref name="includeOwn"/> (history), their chat is <c>to</c>.</summary>
    private InboundMessage? ToInbound(JsonElement m, bool includeOwn = false)
    {
        if (m.TryGetProperty("isStatus", out var status) && status.ValueKind == JsonValueKind.True)
        {
            return null;
        }

        var fromMe = m.TryGetProperty("fromMe", out var me) && me.ValueKind == JsonValueKind.True;
        if (fromMe && !includeOwn)
        {
            return null; // our own sends (and the phone's) come back as new messages; they are not input for the agent
        }

        var id = Str(m, "id");
        var from = fromMe ? Str(m, "to") : Str(m, "from");
        if (id is null || from is null)
        {
            return null;
        }

        var isGroup = (m.TryGetProperty("isGroup", out var g) && g.ValueKind == JsonValueKind.True) || from.EndsWith("@g.us", StringComparison.Ordinal);
        var type = Str(m, "type") switch
        {
            "chat" or null => MessageTypes.Text,
            "image" => MessageTypes.Image,
            "video" => MessageTypes.Video,
            "ptt" => MessageTypes.Voice,
            "audio" => MessageTypes.Audio,
            "document" => MessageTypes.Document,
            "sticker" => MessageTypes.Sticker,
            "location" => MessageTypes.Location,
            "vcard" or "multi_vcard" => MessageTypes.Contact,
            "reaction" => MessageTypes.Reaction,
            _ => MessageTypes.System,
        };
        var seconds = m.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : 0;
        return new InboundMessage
        {
            MessageId = id,
            ChatId = from,
            From = fromMe ? Str(m, "from") : isGroup ? Str(m, "author") ?? from : from,
            Body = type == MessageTypes.Text ? Str(m, "body") ?? "" : Str(m, "caption") ?? "",
            Type = type,
            IsFromMe = fromMe,
            IsGroup = isGroup,
            GroupId = isGroup ? from : null,
            ContactName = Str(m, "notifyName"),
            ReplyToMessageId = Str(m, "quotedMsgId"),
            Timestamp = seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : _time.GetUtcNow(),
        };
    }

    /// <summary>
    /// Someone's reaction as a message of type reaction: the emoji as body (empty: the reaction was removed), the message
    /// reacted to as reply. Keyed by the reaction's own message id, so each change is stored once. Own reactions are
    /// not passed on, like own messages.
    /// </summary>
    private InboundMessage? ToReaction(JsonElement r)
    {
        if (r.TryGetProperty("fromMe", out var me) && me.ValueKind == JsonValueKind.True)
        {
            return null;
        }

        var chat = Str(r, "chat");
        var reactedTo = Str(r, "msgId");
        var sender = Str(r, "sender");
        if (chat is null || reactedTo is null)
        {
            _logger.LogWarning("A WhatsApp Web reaction of {InstanceId} names no chat or message; not passed on", _instanceId);
            return null;
        }

        var isGroup = chat.EndsWith("@g.us", StringComparison.Ordinal);
        var emoji = Str(r, "emoji") ?? "";
        var time = r.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : 0;
        return new InboundMessage
        {
            // A reaction without a key of its own (not seen from wa-js 4.6) gets one from what it is, which changes with the emoji.
            MessageId = Str(r, "id") ?? $"reaction_{reactedTo}_{sender}_{emoji}_{time}",
            ChatId = chat,
            From = sender ?? chat,
            Body = emoji,
            Type = MessageTypes.Reaction,
            IsGroup = isGroup,
            GroupId = isGroup ? chat : null,
            ReplyToMessageId = reactedTo,
            Timestamp = time switch
            {
                <= 0 => _time.GetUtcNow(),
                > 100_000_000_000 => DateTimeOffset.FromUnixTimeMilliseconds(time), // WhatsApp keeps reaction times in milliseconds
                _ => DateTimeOffset.FromUnixTimeSeconds(time),
            },
        };
    }

    private static MessageAck MapAck(int ack) => ack switch
    {
        < 0 => MessageAck.Failed,
        0 => MessageAck.Pending,
        1 => MessageAck.Sent,
        2 => MessageAck.Delivered,
        _ => MessageAck.Read,
    };

    private static string? Str(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private async Task ReportStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null)
    {
        try
        {
            await _callbacks.OnStatusAsync(status, reason, account);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Reporting status {Status} of {InstanceId} failed", status, _instanceId);
        }
    }

    private async Task ReportQrAsync(QrCodeInfo? qr)
    {
        try
        {
            await _callbacks.OnQrAsync(qr);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Reporting a QR code of {InstanceId} failed", _instanceId);
        }
    }

    private enum SessionEndKind
    {
        Stopped,
        Crashed,
        LeaseLost,
        QrNotScanned,
        LoggedOut,
        Fatal,
    }

    private sealed record SessionEnd(SessionEndKind Kind, string Reason, bool WasReady);

    /// <summary>One page session: its context, page, event queue and QR/auth state.</summary>
    private sealed class SessionRun : IDisposable
    {
        private readonly TaskCompletionSource<SessionEnd> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _cancelled = new();

        public Channel<string> Events { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

        public BrowserLease? Lease { get; set; }

        public IPage? Page { get; set; }

        public volatile bool Authenticated;

        public volatile bool Ready;

        public int QrCount;

        /// <summary>Until when a requested phone pairing code is waited for (default: none).</summary>
        public DateTimeOffset PairingCodeUntil;

        /// <summary>The QR codes ran out while a pairing code was pending.</summary>
        public volatile bool QrExhausted;

        /// <summary>A phone pairing code was issued and its lifetime has not run out (guarded by the run's lock).</summary>
        public bool PairingCodePending;

        public Task<SessionEnd> Ended => _ended.Task;

        public CancellationToken Cancelled => _cancelled.Token;

        public void End(SessionEnd end)
        {
            if (_ended.TrySetResult(end))
            {
                try
                {
                    _cancelled.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose()
        {
            End(new SessionEnd(SessionEndKind.Stopped, "stopped", Ready));
            _cancelled.Dispose();
        }
    }
}
