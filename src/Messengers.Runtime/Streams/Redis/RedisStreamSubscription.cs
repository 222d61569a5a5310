using System.Collections.Concurrent;
using System.Threading.Channels;
using Messengers.Runtime.Redis;
using Messengers.Runtime.Serialization;
using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Streams.Redis;

/// <summary>One member of a consumer group on every stream of a namespace (see <see cref="RedisStreamProvider"/>).</summary>
internal sealed class RedisStreamSubscription<T> : IStreamSubscription
{
    private readonly RedisStreamProvider _provider;
    private readonly RedisConnection _redis;
    private readonly RedisConnection _blocking;
    private readonly StreamHandler<T> _handler;
    private readonly StreamSubscriptionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly OrderedDispatcher<Delivery> _dispatcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _registry;

    // Keys of the namespace: Redis key -> stream key, in the order they are read.
    private readonly List<string> _keys = [];
    private readonly Dictionary<string, string> _streamKeys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _needGroup = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _claimCursors = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _announced = new();
    private readonly SemaphoreSlim _keySignal = new(0);

    // The last handler error of entries that failed and are not acknowledged yet (for their dead letter); failed ones
    // waiting for their retry. (What this consumer holds is read back from XPENDING when it is released.)
    private readonly ConcurrentDictionary<(string RedisKey, string EntryId), string> _lastErrors = new();
    private int _anyErrors;
    private readonly PriorityQueue<Delivery, long> _retries = new();
    private readonly Lock _retryLock = new();
    private readonly Channel<Ack> _acks = Channel.CreateUnbounded<Ack>(new UnboundedChannelOptions { SingleReader = true });

    private Task _loop = Task.CompletedTask;
    private Task _ackLoop = Task.CompletedTask;
    private long _seenEpoch = -1;
    private long _nextRefresh;
    private long _nextReclaim;
    private int _reading;
    private int _disposed;

    public RedisStreamSubscription(RedisStreamProvider provider, string streamNamespace, string consumerGroup, StreamHandler<T> handler, StreamSubscriptionOptions options, ILoggerFactory loggers)
    {
        _provider = provider;
        _redis = provider.Redis;
        _blocking = _redis.CreateDedicated();
        _handler = handler;
        _options = options;
        _time = provider.Time;
        _logger = loggers.CreateLogger<RedisStreamProvider>();
        StreamNamespace = streamNamespace;
        ConsumerGroup = consumerGroup;
        ConsumerName = options.ConsumerName ?? $"{Environment.MachineName}-{Guid.NewGuid():N}";
        _registry = provider.RegistryKey(streamNamespace);
        _dispatcher = new OrderedDispatcher<Delivery>(options.MaxConcurrency, d => new StreamId(streamNamespace, d.StreamKey), HandleAsync);
    }

    public string StreamNamespace { get; }

    public string ConsumerGroup { get; }

    public string ConsumerName { get; }

    private TimeSpan ReclaimInterval => TimeSpan.FromTicks(Math.Clamp(_options.VisibilityTimeout.Ticks / 4, TimeSpan.FromMilliseconds(20).Ticks, TimeSpan.FromSeconds(5).Ticks));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _provider.Subscriber.SubscribeAsync(_registry, OnAnnounced, cancellationToken);
        await RefreshKeysAsync(cancellationToken);
        await CreateGroupsAsync(cancellationToken);
        _seenEpoch = _redis.ConnectionEpoch;
        _nextReclaim = _time.GetTimestamp();
        _ackLoop = Task.Run(AckLoopAsync, CancellationToken.None);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public async Task AcknowledgeAsync(StreamId streamId, string entryId, CancellationToken cancellationToken = default)
    {
        var redisKey = _provider.StreamKey(streamId.Namespace, streamId.Key);
        var ack = new Ack(redisKey, entryId, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_acks.Writer.TryWrite(ack))
        {
            throw new ObjectDisposedException(nameof(IStreamSubscription), "The subscription is disposed; the entry stays pending and is delivered again.");
        }

        await ack.Waiter!.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        while (!_loop.IsCompleted)
        {
            await UnblockAsync(untilIdle: false);
            await Task.WhenAny(_loop, Task.Delay(10, CancellationToken.None));
        }

        await _loop;
        await _dispatcher.DrainAsync();
        _acks.Writer.TryComplete();
        await _ackLoop;
        try
        {
            await _provider.Subscriber.UnsubscribeAsync(_registry, OnAnnounced);
        }
        catch (Exception exception) when (exception is RedisException or ObjectDisposedException)
        {
            // Redis unreachable or the provider already disposed: nothing to undo.
        }

        await ReleaseAsync();
        await _blocking.DisposeAsync();
        _dispatcher.Dispose();
        _keySignal.Dispose();
        _stop.Dispose();
    }

    private void OnAnnounced(RedisPubSubMessage message)
    {
        if (message.Text is not { } key || Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        _announced.Enqueue(key);
        try
        {
            _keySignal.Release();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        if (Volatile.Read(ref _reading) == 1)
        {
            _ = UnblockAsync(untilIdle: true);
        }
    }

    /// <summary>Ends the consumer's blocked XREADGROUP early (CLIENT UNBLOCK), retrying briefly if it is not blocked yet.</summary>
    private async Task UnblockAsync(bool untilIdle)
    {
        for (var attempt = 0; attempt < 40 && Volatile.Read(ref _reading) == 1; attempt++)
        {
            try
            {
                var clientId = _blocking.ClientId;
                if (clientId != 0 && (await _redis.ExecuteAsync(["CLIENT", "UNBLOCK", clientId], TimeSpan.FromSeconds(1), CancellationToken.None)).AsInt64() == 1)
                {
                    return;
                }
            }
            catch (RedisException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            if (!untilIdle && attempt > 4)
            {
                return;
            }

            await Task.Delay(5, CancellationToken.None);
        }
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        var backoff = TimeSpan.Zero;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await MaintainAsync(token);
                if (_keys.Count == 0)
                {
                    await _keySignal.WaitAsync(UntilNextWork(), token);
                    continue;
                }

                Volatile.Write(ref _reading, 1);
                if (!_announced.IsEmpty)
                {
                    Volatile.Write(ref _reading, 0);
                    continue; // new keys: create their groups first
                }

                IReadOnlyList<RedisStreamReadResult> batch;
                try
                {
                    // COUNT is per key; the dispatcher holds the loop back while MaxConcurrency entries are unfinished.
                    var count = Math.Max(1, Math.Min(_options.BatchSize, _options.MaxConcurrency));
                    batch = await _blocking.XReadGroupAsync(ConsumerGroup, ConsumerName, _keys, count, UntilNextWork(), cancellationToken: CancellationToken.None);
                }
                finally
                {
                    Volatile.Write(ref _reading, 0);
                }

                foreach (var stream in batch)
                {
                    await DispatchAsync(stream.Key, stream.Entries, claimedCounts: null, token);
                }

                if (backoff > TimeSpan.Zero)
                {
                    backoff = TimeSpan.Zero;
                    RedisStreamLog.ConsumerResumed(_logger, StreamNamespace, ConsumerGroup, ConsumerName);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (RedisServerException exception) when (exception.Is("NOGROUP"))
            {
                MarkAllNeedGroup(); // the stream or group went away (deleted, or Redis restarted without persistence)
            }
            catch (Exception exception)
            {
                // Redis unreachable, or anything unexpected: the consumer must not die silently. Log and try again.
                if (token.IsCancellationRequested)
                {
                    return;
                }

                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _provider.Options.MaxErrorBackoff.Ticks));
                RedisStreamLog.ConsumerFailed(_logger, StreamNamespace, ConsumerGroup, ConsumerName, backoff.TotalMilliseconds, exception.Message);
                try
                {
                    await Task.Delay(backoff, _time, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Everything but reading new entries: key discovery, group creation, retries due, reclaiming idle entries.</summary>
    private async Task MaintainAsync(CancellationToken token)
    {
        var epoch = _redis.ConnectionEpoch;
        if (epoch != _seenEpoch)
        {
            // Reconnected: Redis may have restarted and lost keys, groups and the registry. Put our keys back.
            MarkAllNeedGroup();
            if (_keys.Count > 0)
            {
                await _redis.SAddAsync(_registry, [.. _streamKeys.Values], token);
            }

            _seenEpoch = epoch;
            _nextRefresh = 0;
        }

        if (_time.GetTimestamp() >= _nextRefresh)
        {
            await RefreshKeysAsync(token);
        }

        while (_announced.TryDequeue(out var key))
        {
            AddKey(key);
        }

        if (_needGroup.Count > 0)
        {
            await CreateGroupsAsync(token);
        }

        await RetryDueAsync(token);
        if (_time.GetTimestamp() >= _nextReclaim)
        {
            await ReclaimAsync(token);
            _nextReclaim = _time.GetTimestamp() + Ticks(ReclaimInterval);
        }
    }

    private TimeSpan UntilNextWork()
    {
        var now = _time.GetTimestamp();
        var next = Math.Min(_nextReclaim, _nextRefresh);
        lock (_retryLock)
        {
            if (_retries.TryPeek(out _, out var due))
            {
                next = Math.Min(next, due);
            }
        }

        var wait = TimeSpan.FromSeconds((double)Math.Max(0, next - now) / _time.TimestampFrequency);
        return TimeSpan.FromTicks(Math.Clamp(wait.Ticks, TimeSpan.FromMilliseconds(1).Ticks, _provider.Options.BlockTime.Ticks));
    }

    private async Task RefreshKeysAsync(CancellationToken token)
    {
        foreach (var key in await _redis.SMembersAsync(_registry, token))
        {
            AddKey(key);
        }

        _nextRefresh = _time.GetTimestamp() + Ticks(_provider.Options.KeyRefreshInterval);
    }

    private void AddKey(string streamKey)
    {
        var redisKey = _provider.StreamKey(StreamNamespace, streamKey);
        if (_streamKeys.TryAdd(redisKey, streamKey))
        {
            _keys.Add(redisKey);
            _needGroup.Add(redisKey);
        }
    }

    private void MarkAllNeedGroup()
    {
        foreach (var key in _keys)
        {
            _needGroup.Add(key);
        }
    }

    private async Task CreateGroupsAsync(CancellationToken token)
    {
        var keys = _needGroup.ToList();
        await Task.WhenAll(keys.Select(key => _redis.XGroupCreateAsync(key, ConsumerGroup, "0", makeStream: true, token)));
        foreach (var key in keys)
        {
            _needGroup.Remove(key);
        }
    }

    private async Task RetryDueAsync(CancellationToken token)
    {
        List<Delivery>? due = null;
        var now = _time.GetTimestamp();
        lock (_retryLock)
        {
            while (_retries.TryPeek(out var retry, out var at) && at <= now)
            {
                _retries.Dequeue();
                (due ??= []).Add(retry);
            }
        }

        if (due is null)
        {
            return;
        }

        var claims = await Task.WhenAll(due.Select(async retry =>
        {
            try
            {
                var minIdle = _options.RetryDelayAfter(retry.DeliveryCount) / 2;
                var entries = await _redis.XClaimAsync(retry.RedisKey, ConsumerGroup, ConsumerName, minIdle, [retry.EntryId], cancellationToken: token);
                return (retry, entries);
            }
            catch (RedisException)
            {
                Schedule(retry, TimeSpan.FromMilliseconds(200)); // Redis is unreachable: try again later
                throw;
            }
        }));

        foreach (var (retry, entries) in claims)
        {
            var entry = entries.Count > 0 ? entries[0] : null;
            if (entry is null)
            {
                _lastErrors.TryRemove((retry.RedisKey, retry.EntryId), out _); // acknowledged, trimmed, or taken over by another member
                continue;
            }

            await DispatchAsync(retry.RedisKey, [entry], new Dictionary<string, long> { [entry.Id] = retry.DeliveryCount + 1 }, token);
        }
    }

    private async Task ReclaimAsync(CancellationToken token)
    {
        var keys = _keys.ToList();
        var results = await Task.WhenAll(keys.Select(async key =>
        {
            var cursor = _claimCursors.GetValueOrDefault(key, "0-0");
            try
            {
                var claimed = await _redis.XAutoClaimAsync(key, ConsumerGroup, ConsumerName, _options.VisibilityTimeout, cursor, _options.BatchSize, token);
                IReadOnlyList<RedisPendingEntry> counts = [];
                if (claimed.Entries.Count > 0)
                {
                    counts = await _redis.XPendingAsync(key, ConsumerGroup, claimed.Entries[0].Id, claimed.Entries[^1].Id, claimed.Entries.Count * 2, ConsumerName, cancellationToken: token);
                }

                return (key, claimed.NextStartId, claimed.Entries, counts);
            }
            catch (RedisServerException exception) when (exception.Is("NOGROUP"))
            {
                return (key, "0-0", (IReadOnlyList<RedisStreamEntry>)[], (IReadOnlyList<RedisPendingEntry>)[]);
            }
        }));

        foreach (var (key, next, entries, counts) in results)
        {
            _claimCursors[key] = next;
            if (entries.Count == 0)
            {
                continue;
            }

            RedisStreamLog.Reclaimed(_logger, entries.Count, key, ConsumerName);
            var byId = counts.ToDictionary(c => c.Id, c => c.DeliveryCount, StringComparer.Ordinal);
            await DispatchAsync(key, entries, byId, token);
        }
    }

    /// <summary>Hands entries to the dispatcher; entries past their delivery attempts go to the dead-letter stream instead.</summary>
    private async Task DispatchAsync(string redisKey, IReadOnlyList<RedisStreamEntry> entries, Dictionary<string, long>? claimedCounts, CancellationToken token)
    {
        var streamKey = _streamKeys.GetValueOrDefault(redisKey) ?? redisKey;
        var deliveries = new List<Delivery>(entries.Count);
        foreach (var entry in entries)
        {
            var count = claimedCounts is null ? 1 : (int)claimedCounts.GetValueOrDefault(entry.Id, 1);
            var payload = entry.Get(RedisStreamProvider.PayloadField)?.AsBytes();
            var lastError = Volatile.Read(ref _anyErrors) == 0 ? null : _lastErrors.GetValueOrDefault((redisKey, entry.Id));
            var delivery = new Delivery(redisKey, streamKey, entry.Id, payload ?? [], count);
            if (payload is null)
            {
                await DeadLetterAsync(delivery, count, $"The entry has no '{RedisStreamProvider.PayloadField}' field.");
                continue;
            }

            if (count > _options.MaxDeliveryAttempts)
            {
                await DeadLetterAsync(delivery, count - 1, lastError);
                continue;
            }

            deliveries.Add(delivery);
        }

        foreach (var delivery in deliveries)
        {
            await _dispatcher.EnqueueAsync(delivery, token);
        }
    }

    private async Task HandleAsync(Delivery delivery)
    {
        if (_stop.IsCancellationRequested)
        {
            return; // stopping: the entry stays pending and is released on dispose
        }

        try
        {
            var item = GrainJson.Deserialize<T>(delivery.Payload);
            await _handler(new StreamEntry<T>(new StreamId(StreamNamespace, delivery.StreamKey), delivery.EntryId, item, delivery.DeliveryCount), _stop.Token);
        }
        catch (Exception exception)
        {
            StreamLog.HandlerFailed(_logger, exception, StreamNamespace, delivery.StreamKey, delivery.EntryId, ConsumerGroup, delivery.DeliveryCount);
            var error = $"{exception.GetType().Name}: {exception.Message}";
            Volatile.Write(ref _anyErrors, 1);
            _lastErrors[(delivery.RedisKey, delivery.EntryId)] = error;
            if (delivery.DeliveryCount >= _options.MaxDeliveryAttempts)
            {
                try
                {
                    await DeadLetterAsync(delivery, delivery.DeliveryCount, error);
                }
                catch (RedisException)
                {
                    // Still pending: reclaimed after the visibility timeout, then dead-lettered.
                }
            }
            else
            {
                Schedule(delivery, _options.RetryDelayAfter(delivery.DeliveryCount));
            }

            return;
        }

        if (_options.AutoAcknowledge)
        {
            // Sent by the ack loop in a batch; the next entry of this stream id need not wait for the round trip.
            _acks.Writer.TryWrite(new Ack(delivery.RedisKey, delivery.EntryId, waiter: null));
        }
    }

    private void Schedule(Delivery delivery, TimeSpan delay)
    {
        lock (_retryLock)
        {
            _retries.Enqueue(delivery, _time.GetTimestamp() + Ticks(delay));
        }

        if (Volatile.Read(ref _reading) == 1 && delay < _provider.Options.BlockTime)
        {
            _ = WakeForRetryAsync(delay);
        }
    }

    private async Task WakeForRetryAsync(TimeSpan delay)
    {
        // The reader blocked before this retry was scheduled; wake it when the retry is due.
        try
        {
            await Task.Delay(delay, _time, _stop.Token);
            await UnblockAsync(untilIdle: false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task DeadLetterAsync(Delivery delivery, int deliveryCount, string? lastError)
    {
        var dead = new DeadLetter(StreamNamespace, delivery.StreamKey, ConsumerGroup, delivery.EntryId, deliveryCount, RedisStreamProvider.Utf8(delivery.Payload), lastError);
        StreamLog.DeadLettered(_logger, StreamNamespace, delivery.StreamKey, delivery.EntryId, ConsumerGroup, deliveryCount, lastError);
        await _provider.GetStream<DeadLetter>(new StreamId(StreamNames.DeadLetterNamespace(StreamNamespace), delivery.StreamKey)).OnNextAsync(dead);
        await _redis.XAckAsync(delivery.RedisKey, ConsumerGroup, delivery.EntryId);
        _lastErrors.TryRemove((delivery.RedisKey, delivery.EntryId), out _);
    }

    /// <summary>Sends acknowledgements in batches: whatever queued up while the previous XACKs were in flight, one XACK per key.</summary>
    private async Task AckLoopAsync()
    {
        var reader = _acks.Reader;
        var batch = new List<Ack>();
        var byKey = new Dictionary<string, List<Ack>>(StringComparer.Ordinal);
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < 4096 && reader.TryRead(out var ack))
            {
                batch.Add(ack);
            }

            byKey.Clear();
            foreach (var ack in batch)
            {
                if (!byKey.TryGetValue(ack.RedisKey, out var acks))
                {
                    byKey[ack.RedisKey] = acks = [];
                }

                acks.Add(ack);
            }

            await Task.WhenAll(byKey.Select(pair => AcknowledgeBatchAsync(pair.Key, pair.Value)));
        }
    }

    private async Task AcknowledgeBatchAsync(string redisKey, List<Ack> acks)
    {
        var ids = new string[acks.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = acks[i].EntryId;
        }

        try
        {
            await _redis.XAckAsync(redisKey, ConsumerGroup, ids);
            foreach (var ack in acks)
            {
                if (Volatile.Read(ref _anyErrors) != 0)
                {
                    _lastErrors.TryRemove((ack.RedisKey, ack.EntryId), out _);
                }

                ack.Waiter?.TrySetResult();
            }
        }
        catch (Exception exception)
        {
            // Still pending: delivered again after the visibility timeout. (Catching everything keeps the ack loop alive.)
            RedisStreamLog.AckFailed(_logger, StreamNamespace, acks.Count, ConsumerGroup, exception.Message);
            foreach (var ack in acks)
            {
                ack.Waiter?.TrySetException(exception);
            }
        }
    }

    /// <summary>
    /// Hands this consumer's pending entries to <see cref="RedisStreamProvider.ReleasedConsumer"/> with their idle time set
    /// to the visibility timeout, so live members reclaim them at once, then removes this consumer from the groups.
    /// </summary>
    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var token = timeout.Token;
            await Task.WhenAll(_keys.Select(async key =>
            {
                while (true)
                {
                    var pending = await _redis.XPendingAsync(key, ConsumerGroup, "-", "+", 1000, ConsumerName, cancellationToken: token);
                    if (pending.Count == 0)
                    {
                        break;
                    }

                    await _redis.XClaimAsync(key, ConsumerGroup, RedisStreamProvider.ReleasedConsumer, TimeSpan.Zero, [.. pending.Select(p => p.Id)], idle: _options.VisibilityTimeout + TimeSpan.FromSeconds(1), justId: true, token);
                }

                await _redis.ExecuteAsync(["XGROUP", "DELCONSUMER", key, ConsumerGroup, ConsumerName], null, token);
            }));
        }
        catch (Exception exception) when (exception is RedisException or OperationCanceledException or ObjectDisposedException)
        {
            RedisStreamLog.ReleaseFailed(_logger, StreamNamespace, ConsumerGroup, ConsumerName, exception.Message);
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private sealed record Delivery(string RedisKey, string StreamKey, string EntryId, byte[] Payload, int DeliveryCount);

    private sealed class Ack(string redisKey, string entryId, TaskCompletionSource? waiter)
    {
        public string RedisKey { get; } = redisKey;

        public string EntryId { get; } = entryId;

        /// <summary>Completed when the XACK is done, for explicit <see cref="AcknowledgeAsync"/>; null for automatic acks.</summary>
        public TaskCompletionSource? Waiter { get; } = waiter;
    }
}
