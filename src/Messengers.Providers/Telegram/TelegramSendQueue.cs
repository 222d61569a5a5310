using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Providers.Telegram;

/// <summary>
/// Paces a bot's outgoing sends under Telegram's flood limits (protocols.md §1.3). Sends to one chat run one at a
/// time in the order they were enqueued; different chats run in parallel, oldest waiting send first, within the
/// per-chat and per-bot <see cref="RateLimit"/>s of <see cref="TelegramSendQueueOptions"/>.
/// <para>
/// A 429 answer pauses the chat (or, when several chats are hit at once, the whole bot) for <c>retry_after</c> and
/// then sends the same message again: Telegram did not deliver it, so nothing is lost or duplicated. 5xx answers are
/// retried with backoff up to <see cref="TelegramSendQueueOptions.MaxServerErrorRetries"/>. Any other failure
/// (4xx, network errors: the message may or may not have arrived) ends that send's task and the chat moves on.
/// </para>
/// One queue per bot token. All time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class TelegramSendQueue : IAsyncDisposable
{
    private readonly TelegramSendQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, ChatLane> _chats = [];
    private readonly SlidingWindow _botWindow;
    private readonly HashSet<Task> _running = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _botPausedUntil = DateTimeOffset.MinValue;
    private (long ChatId, DateTimeOffset At)? _lastFlood;
    private long _sequence;
    private bool _disposed;

    public TelegramSendQueue(TelegramSendQueueOptions? options = null, TimeProvider? timeProvider = null, ILogger<TelegramSendQueue>? logger = null)
    {
        _options = options ?? new TelegramSendQueueOptions();
        Validate(_options.PrivateChatLimit, nameof(_options.PrivateChatLimit));
        Validate(_options.GroupChatLimit, nameof(_options.GroupChatLimit));
        Validate(_options.BotLimit, nameof(_options.BotLimit));
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _botWindow = new SlidingWindow(_options.BotLimit);
        _loop = Task.Run(RunLoopAsync);
    }

    /// <summary>Sends not yet completed, including the ones in flight.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _chats.Values.Sum(c => c.Items.Count);
            }
        }
    }

    /// <summary>
    /// Queues a send to <paramref name="chatId"/>. <paramref name="send"/> may run more than once (after a 429 or
    /// 5xx) and gets a token that is cancelled with <paramref name="cancellationToken"/>. The task completes with the
    /// sent message, or with the send's final exception.
    /// </summary>
    public Task<Message> EnqueueAsync(long chatId, Func<CancellationToken, Task<Message>> send, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(send);
        var item = new SendItem(send, cancellationToken);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (cancellationToken.IsCancellationRequested)
            {
                return Task.FromCanceled<Message>(cancellationToken);
            }

            if (!_chats.TryGetValue(chatId, out var lane))
            {
                lane = new ChatLane(chatId, new SlidingWindow(chatId < 0 ? _options.GroupChatLimit : _options.PrivateChatLimit));
                _chats.Add(chatId, lane);
            }

            item.Sequence = ++_sequence;
            item.Node = lane.Items.AddLast(item);
            _wake.TrySetResult();
        }

        if (cancellationToken.CanBeCanceled)
        {
            item.Registration = cancellationToken.Register(() => CancelWaiting(chatId, item));
        }

        return item.Completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        List<SendItem> abandoned;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _wake.TrySetResult();
        }

        await _stop.CancelAsync();
        await _loop;
        Task[] running;
        lock (_lock)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running);
        lock (_lock)
        {
            abandoned = [.. _chats.Values.SelectMany(c => c.Items)];
            _chats.Clear();
        }

        foreach (var item in abandoned)
        {
            item.Registration.Dispose();
            item.Completion.TrySetException(new ObjectDisposedException(nameof(TelegramSendQueue), "The send queue was disposed before the message was sent."));
        }

        _stop.Dispose();
    }

    private async Task RunLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync();
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                // Defensive: a bug here must not silently stall every pending send.
                TelegramQueueLog.LoopFailed(_logger, ex);
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunOnceAsync()
    {
        Task wake;
        TimeSpan? wait = null;
        (ChatLane Lane, SendItem Item)? dispatch = null;
        lock (_lock)
        {
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wake = _wake.Task;
            _running.RemoveWhere(t => t.IsCompleted);
            var now = _time.GetUtcNow();
            var (next, wakeAt) = PickNext(now);
            if (next is not null)
            {
                var item = next.Items.First!.Value;
                next.InFlight = true;
                item.InFlight = true;
                next.Window.Record(now);
                _botWindow.Record(now);
                dispatch = (next, item);
            }
            else if (wakeAt is { } at)
            {
                wait = at - now;
            }
        }

        if (dispatch is { } d)
        {
            // The send's synchronous part (building the request) runs here, right at its dispatch time.
            var run = RunAsync(d.Lane, d.Item);
            lock (_lock)
            {
                _running.Add(run);
            }

            return;
        }

        using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var delay = wait is { } w ? Task.Delay(w, _time, delayCancel.Token) : Task.Delay(Timeout.Infinite, delayCancel.Token);
        try
        {
            await Task.WhenAny(wake, delay);
        }
        finally
        {
            await delayCancel.CancelAsync();
        }
    }

    /// <summary>The ready chat whose head send waited longest, else when the next one becomes ready.</summary>
    private (ChatLane? Lane, DateTimeOffset? WakeAt) PickNext(DateTimeOffset now)
    {
        ChatLane? best = null;
        DateTimeOffset? wakeAt = null;
        List<long>? idle = null;
        foreach (var lane in _chats.Values)
        {
            if (lane.InFlight)
            {
                continue;
            }

            if (lane.Items.Count == 0)
            {
                if (lane.PausedUntil <= now && lane.Window.IsIdle(now))
                {
                    (idle ??= []).Add(lane.ChatId);
                }

                continue;
            }

            var readyAt = Max(lane.PausedUntil, lane.Window.NextAllowed(now));
            if (readyAt <= now)
            {
                if (best is null || lane.Items.First!.Value.Sequence < best.Items.First!.Value.Sequence)
                {
                    best = lane;
                }
            }
            else if (wakeAt is null || readyAt < wakeAt)
            {
                wakeAt = readyAt;
            }
        }

        if (idle is not null)
        {
            foreach (var id in idle)
            {
                _chats.Remove(id);
            }
        }

        if (best is null)
        {
            return (null, wakeAt);
        }

        var botReadyAt = Max(_botPausedUntil, _botWindow.NextAllowed(now));
        return botReadyAt <= now ? (best, null) : (null, botReadyAt);
    }

    private async Task RunAsync(ChatLane lane, SendItem item)
    {
        Message? sent = null;
        Exception? failure = null;
        var retry = false;
        try
        {
            item.Attempts++;
            sent = await item.Send(item.CancellationToken);
        }
        catch (RequestException ex) when (TelegramErrors.IsFloodWait(ex, out var retryAfter))
        {
            retry = true;
            OnFloodWait(lane, retryAfter ?? _options.DefaultRetryAfter);
        }
        catch (RequestException ex) when (TelegramErrors.IsServerError(ex) && item.ServerErrors < _options.MaxServerErrorRetries)
        {
            retry = true;
            var backoff = _options.ServerErrorBackoff * Math.Pow(2, item.ServerErrors);
            item.ServerErrors++;
            lock (_lock)
            {
                lane.PausedUntil = Max(lane.PausedUntil, _time.GetUtcNow() + backoff);
            }

            TelegramQueueLog.ServerErrorRetry(_logger, lane.ChatId, TelegramErrors.CodeOf(ex) ?? 0, item.ServerErrors, backoff);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        lock (_lock)
        {
            lane.InFlight = false;
            item.InFlight = false;
            if (!retry)
            {
                if (item.Node?.List is not null)
                {
                    lane.Items.Remove(item.Node);
                }

                item.Registration.Dispose();
                if (failure is OperationCanceledException && item.CancellationToken.IsCancellationRequested)
                {
                    item.Completion.TrySetCanceled(item.CancellationToken);
                }
                else if (failure is not null)
                {
                    item.Completion.TrySetException(failure);
                }
                else
                {
                    item.Completion.TrySetResult(sent!);
                }
            }
            else if (item.CancellationToken.IsCancellationRequested)
            {
                lane.Items.Remove(item.Node!);
                item.Registration.Dispose();
                item.Completion.TrySetCanceled(item.CancellationToken);
            }

            _wake.TrySetResult();
        }
    }

    private void OnFloodWait(ChatLane lane, TimeSpan retryAfter)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var until = now + retryAfter;
            lane.PausedUntil = Max(lane.PausedUntil, until);
            var botWide = _lastFlood is { } last && last.ChatId != lane.ChatId && now - last.At <= _options.BotWideFloodDetectionWindow;
            _lastFlood = (lane.ChatId, now);
            if (botWide)
            {
                _botPausedUntil = Max(_botPausedUntil, until);
            }

            TelegramQueueLog.FloodWait(_logger, lane.ChatId, retryAfter, botWide ? "bot" : "chat");
        }
    }

    private void CancelWaiting(long chatId, SendItem item)
    {
        lock (_lock)
        {
            if (item.InFlight || item.Node?.List is null || !_chats.TryGetValue(chatId, out var lane))
            {
                return; // in flight: the send itself sees the token; or already done.
            }

            lane.Items.Remove(item.Node);
            item.Completion.TrySetCanceled(item.CancellationToken);
            _wake.TrySetResult();
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static void Validate(RateLimit limit, string name)
    {
        ArgumentNullException.ThrowIfNull(limit, name);
        if (limit.Count < 1 || limit.Per < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, "A rate limit needs Count >= 1 and a non-negative Per.");
        }
    }

    private sealed class SendItem(Func<CancellationToken, Task<Message>> send, CancellationToken cancellationToken)
    {
        public Func<CancellationToken, Task<Message>> Send { get; } = send;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource<Message> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        public LinkedListNode<SendItem>? Node { get; set; }

        public long Sequence { get; set; }

        public bool InFlight { get; set; }

        public int Attempts { get; set; }

        public int ServerErrors { get; set; }
    }

    private sealed class ChatLane(long chatId, SlidingWindow window)
    {
        public long ChatId { get; } = chatId;

        public LinkedList<SendItem> Items { get; } = new();

        public SlidingWindow Window { get; } = window;

        public bool InFlight { get; set; }

        public DateTimeOffset PausedUntil { get; set; } = DateTimeOffset.MinValue;
    }

    /// <summary>Remembers the last <c>Count</c> send times; the next send may go when the oldest leaves the window.</summary>
    private sealed class SlidingWindow(RateLimit limit)
    {
        private readonly Queue<DateTimeOffset> _sends = new();

        public DateTimeOffset NextAllowed(DateTimeOffset now) =>
            _sends.Count < limit.Count ? now : Max(now, _sends.Peek() + limit.Per);

        public bool IsIdle(DateTimeOffset now) => _sends.Count == 0 || _sends.Max() + limit.Per <= now;

        public void Record(DateTimeOffset now)
        {
            if (_sends.Count == limit.Count)
            {
                _sends.Dequeue();
            }

            _sends.Enqueue(now);
        }
    }
}

internal static partial class TelegramQueueLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram flood wait {RetryAfter} after a send to chat {ChatId}; pausing the {Scope}")]
    public static partial void FloodWait(ILogger logger, long chatId, TimeSpan retryAfter, string scope);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telegram send queue loop failed")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram send to chat {ChatId} failed with {ErrorCode}; retry {Retry} in {Backoff}")]
    public static partial void ServerErrorRetry(ILogger logger, long chatId, int errorCode, int retry, TimeSpan backoff);
}
