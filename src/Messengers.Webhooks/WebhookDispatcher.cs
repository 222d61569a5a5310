using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using Messengers.Data.Webhooks;

namespace Messengers.Webhooks;

/// <summary>
/// Delivers the outbox. Each subscription's rows go strictly in outbox order: only the oldest open row of a
/// subscription is ever sent, and a failing row blocks the later rows of its subscription until it is delivered or
/// dead, never those of other subscriptions. Up to <see cref="WebhookOptions.MaxConcurrency"/> subscriptions are
/// delivered at once. Each attempt is a signed JSON POST (<see cref="WebhookSignature"/>); a 2xx answer counts as
/// delivered, anything else (status, timeout, connection error) schedules the next attempt after
/// <see cref="WebhookOptions.RetryDelay"/>, and after <see cref="WebhookOptions.MaxAttempts"/> the row is dead.
/// A row being delivered is leased (its next attempt moved past the delivery timeout), so several silos can run
/// dispatchers on one database; a silo that dies mid-delivery leaves a row that is tried again after the lease.
/// </summary>
public sealed partial class WebhookDispatcher : BackgroundService
{
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);
    private const int MaxErrorLength = 500;

    private readonly IWebhookStore _store;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, Task> _active = new(StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _delivered;
    private DateTimeOffset _nextPurge = DateTimeOffset.MinValue;

    /// <param name="handler">The HTTP handler to send with (tests); by default a pooled <see cref="SocketsHttpHandler"/>.</param>
    public WebhookDispatcher(IWebhookStore store, WebhookOptions options, TimeProvider time, ILogger<WebhookDispatcher> logger, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _http = new HttpClient(
            handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = options.Timeout, AllowAutoRedirect = false },
            disposeHandler: handler is null)
        {
            Timeout = Timeout.InfiniteTimeSpan, // per attempt: a TimeProvider-driven token, see DeliverAsync
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Messengers-Webhooks", "1"));
    }

    /// <summary>Events delivered since start.</summary>
    public long DeliveredCount => Interlocked.Read(ref _delivered);

    /// <summary>Looks for due rows now instead of at the next poll.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>
    /// Delivers everything due now and waits until each subscription's queue is empty, blocked by a failure, or
    /// not due yet. Returns how many events were delivered. The hosted loop does the same without waiting.
    /// </summary>
    public async Task<long> DispatchDueAsync(CancellationToken cancellationToken = default)
    {
        var before = DeliveredCount;
        while (true)
        {
            await StartDueAsync(cancellationToken);
            var running = _active.Values.ToArray();
            if (running.Length == 0)
            {
                return DeliveredCount - before;
            }

            await Task.WhenAll(running);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task<bool>? wake = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PurgeIfDueAsync(stoppingToken);
                await StartDueAsync(stoppingToken);
                // One pending wait for a wake-up at a time, kept across polls (a new one per poll would pile up while idle).
                wake ??= _wake.Reader.WaitToReadAsync(stoppingToken).AsTask();
                await Task.WhenAny(wake, Task.Delay(_options.PollInterval, _time, stoppingToken));
                if (wake.IsCompleted)
                {
                    wake = null;
                    _wake.Reader.TryRead(out _);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                Log.PollFailed(_logger, exception);
                try
                {
                    await Task.Delay(_options.PollInterval, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        try
        {
            await Task.WhenAll(_active.Values.ToArray());
        }
        catch (OperationCanceledException)
        {
            // leased rows are tried again after their lease
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    /// <summary>Deletes delivered and dead rows older than <see cref="WebhookOptions.Retention"/>, at most once an hour.</summary>
    private async Task PurgeIfDueAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (now < _nextPurge)
        {
            return;
        }

        _nextPurge = now + TimeSpan.FromHours(1);
        var purged = await _store.PurgeAsync(now - _options.Retention, cancellationToken);
        if (purged > 0)
        {
            Log.Purged(_logger, purged);
        }
    }

    /// <summary>Starts a drain for each due subscription that is not being delivered already, up to the concurrency.</summary>
    private async Task StartDueAsync(CancellationToken cancellationToken)
    {
        var free = _options.MaxConcurrency - _active.Count;
        if (free <= 0)
        {
            return;
        }

        var due = await _store.GetDueAsync(_time.GetUtcNow(), _options.MaxConcurrency + _active.Count, null, cancellationToken);
        foreach (var head in due)
        {
            if (free == 0)
            {
                break;
            }

            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_active.TryAdd(head.Subscription.Id, started.Task))
            {
                continue;
            }

            free--;
            _ = Task.Run(async () =>
            {
                try
                {
                    await DrainAsync(head, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
                catch (Exception exception)
                {
                    Log.DrainFailed(_logger, exception, head.Subscription.Id);
                }
                finally
                {
                    _active.TryRemove(head.Subscription.Id, out _);
                    started.TrySetResult();
                }
            }, CancellationToken.None);
        }
    }

    /// <summary>Delivers one subscription's rows in order until its queue is empty, blocked or not due.</summary>
    private async Task DrainAsync(DueWebhookDelivery head, CancellationToken cancellationToken)
    {
        DueWebhookDelivery? current = head;
        while (current is not null && !cancellationToken.IsCancellationRequested)
        {
            if (!await DeliverAsync(current, cancellationToken))
            {
                return;
            }

            var next = await _store.GetDueAsync(_time.GetUtcNow(), 1, head.Subscription.Id, cancellationToken);
            current = next.Count == 0 ? null : next[0];
        }
    }

    /// <summary>One attempt. True when the subscription may go on with its next row (delivered, or dead).</summary>
    private async Task<bool> DeliverAsync(DueWebhookDelivery due, CancellationToken cancellationToken)
    {
        var (delivery, subscription) = due;
        var now = _time.GetUtcNow();
        if (!await _store.TryLeaseAsync(delivery.Id, delivery.NextAttemptAt, now + _options.Timeout + LeaseMargin, cancellationToken))
        {
            return false; // another silo took it
        }

        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        var timestamp = now.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, subscription.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        foreach (var (name, value) in subscription.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        request.Headers.Remove(WebhookSignature.EventHeader);
        request.Headers.Remove(WebhookSignature.EventIdHeader);
        request.Headers.Remove(WebhookSignature.TimestampHeader);
        request.Headers.Remove(WebhookSignature.SignatureHeader);
        request.Headers.TryAddWithoutValidation(WebhookSignature.EventHeader, delivery.EventType);
        request.Headers.TryAddWithoutValidation(WebhookSignature.EventIdHeader, delivery.EventId);
        request.Headers.TryAddWithoutValidation(WebhookSignature.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookSignature.SignatureHeader, WebhookSignature.Sign(subscription.Secret, timestamp, body));

        int? statusCode = null;
        string error;
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            statusCode = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                await _store.MarkDeliveredAsync(delivery.Id, statusCode.Value, _time.GetUtcNow(), CancellationToken.None);
                Interlocked.Increment(ref _delivered);
                Log.Delivered(_logger, delivery.EventType, delivery.EventId, subscription.Id, statusCode.Value, delivery.Attempts + 1);
                return true;
            }

            error = $"HTTP {statusCode} {response.ReasonPhrase}".TrimEnd();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = $"No answer within {_options.Timeout.TotalSeconds:0.#} s.";
        }
        catch (HttpRequestException exception)
        {
            error = exception.InnerException is { } inner ? $"{exception.Message} ({inner.Message})" : exception.Message;
        }

        if (error.Length > MaxErrorLength)
        {
            error = error[..MaxErrorLength];
        }

        var attempts = delivery.Attempts + 1;
        var dead = attempts >= _options.MaxAttempts;
        var failedAt = _time.GetUtcNow();
        var next = dead ? failedAt : failedAt + _options.RetryDelay(attempts, Random.Shared.NextDouble());
        await _store.MarkFailedAsync(delivery.Id, dead ? WebhookDeliveryStatus.Dead : WebhookDeliveryStatus.Failed, attempts, statusCode, error, next, CancellationToken.None);
        if (dead)
        {
            Log.Dead(_logger, delivery.EventType, delivery.EventId, subscription.Id, attempts, error);
            return true;
        }

        Log.Failed(_logger, delivery.EventType, delivery.EventId, subscription.Id, attempts, error, next);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook {EventType} {EventId} delivered to subscription {SubscriptionId}: HTTP {StatusCode} on attempt {Attempt}")]
        public static partial void Delivered(ILogger logger, string eventType, string eventId, string subscriptionId, int statusCode, int attempt);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventType} {EventId} to subscription {SubscriptionId} failed (attempt {Attempt}): {Error}; next attempt at {NextAttemptAt:o}")]
        public static partial void Failed(ILogger logger, string eventType, string eventId, string subscriptionId, int attempt, string error, DateTimeOffset nextAttemptAt);

        [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {EventType} {EventId} to subscription {SubscriptionId} is dead after {Attempts} attempts: {Error}")]
        public static partial void Dead(ILogger logger, string eventType, string eventId, string subscriptionId, int attempts, string error);

        [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} old webhook deliveries")]
        public static partial void Purged(ILogger logger, int count);

        [LoggerMessage(Level = LogLevel.Error, Message = "Looking for due webhook deliveries failed")]
        public static partial void PollFailed(ILogger logger, Exception exception);

        [LoggerMessage(Level = LogLevel.Error, Message = "Delivering webhooks of subscription {SubscriptionId} failed")]
        public static partial void DrainFailed(ILogger logger, Exception exception, string subscriptionId);
    }
}
