using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Reads one queue (one Redis stream key) for the pulling agent of the silo that owns it.
/// <list type="bullet">
/// <item>Reads with <c>XREADGROUP</c> under a consumer name derived from the queue, so every owner of the queue is the same
/// Redis consumer and inherits what the previous owner read but never acknowledged.</item>
/// <item>Reads its pending entries list from id 0 first (when it takes the queue, and again every
/// <see cref="RedisStreamOptions.PendingRecoveryInterval"/> while nothing is in flight or after a failed read), then new
/// entries (<c>&gt;</c>).</item>
/// <item>Acknowledges (<c>XACK</c>) only in <see cref="MessagesDeliveredAsync(IList{IBatchContainer}, CancellationToken)"/>,
/// which Orleans calls with the entries every consumer has moved past; failed deliveries are acknowledged by the
/// failure handler after they are dead-lettered.</item>
/// <item>Entries it cannot deserialize go to the dead-letter stream and are acknowledged; read errors are thrown to the
/// pulling agent (which logs and retries with backoff), never turned into an empty read.</item>
/// </list>
/// The pulling agent calls a receiver from one activation turn at a time; the lock only guards the in-flight set, which
/// the failure handler also touches.
/// </summary>
internal sealed class RedisQueueAdapterReceiver : IQueueAdapterReceiver
{
    private static readonly RedisValue StartOfPendingList = "0";
    private static readonly RedisValue NewEntries = StackExchange.Redis.StreamPosition.NewMessages;

    private readonly string _queueKey;
    private readonly string _consumer;
    private readonly RedisStreamOptions _options;
    private readonly RedisStreamConnection _connection;
    private readonly Serializer<RedisStreamBatchContainer> _serializer;
    private readonly RedisDeadLetterWriter _deadLetters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly List<RedisValue> _unacknowledged = [];

    private RedisValue? _pendingCursor = StartOfPendingList;
    private bool _recovering;
    private bool _groupReady;
    private bool _rescanRequested;
    private long _lastPendingScan;

    public RedisQueueAdapterReceiver(
        string queueKey,
        string consumer,
        RedisStreamOptions options,
        RedisStreamConnection connection,
        Serializer<RedisStreamBatchContainer> serializer,
        RedisDeadLetterWriter deadLetters,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _queueKey = queueKey;
        _consumer = consumer;
        _options = options;
        _connection = connection;
        _serializer = serializer;
        _deadLetters = deadLetters;
        _timeProvider = timeProvider;
        _logger = logger;
        _lastPendingScan = timeProvider.GetTimestamp();
    }

    public string QueueKey => _queueKey;

    /// <summary>Entries returned to the agent and not yet acknowledged (for tests and diagnostics).</summary>
    public int InFlightCount
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count;
            }
        }
    }

    public Task Initialize(TimeSpan timeout) => InitializeAsync().WaitAsync(timeout);

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        var count = maxCount <= 0 ? _options.ReadCount : Math.Min(maxCount, _options.ReadCount);
        var database = await _connection.GetDatabaseAsync(cancellationToken);
        try
        {
            try
            {
                return await ReadAsync(database, count);
            }
            catch (RedisServerException exception) when (IsNoGroup(exception))
            {
                // The key or the group is gone: Redis restarted without persistence (its entries are lost with it) or
                // someone deleted the key. Re-create the group from the first retained entry and read on.
                _logger.GroupRecreated(_options.ConsumerGroup, _queueKey);
                _groupReady = false;
                _pendingCursor = null;
                return await ReadAsync(database, count);
            }
        }
        catch
        {
            // A read whose reply was lost may have moved entries into our pending list: read it again once it is safe.
            _rescanRequested = true;
            throw;
        }
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        var ids = new List<RedisValue>(messages.Count);
        foreach (var message in messages)
        {
            if (message is RedisStreamBatchContainer { Token: { } token })
            {
                ids.Add(token.EntryId);
            }
        }

        if (ids.Count > 0)
        {
            lock (_lock)
            {
                _unacknowledged.AddRange(ids);
            }

            var database = await _connection.GetDatabaseAsync(cancellationToken);
            await AcknowledgeAsync(database);
        }
    }

    public Task Shutdown(TimeSpan timeout)
    {
        _logger.QueueReleased(_queueKey, _consumer, InFlightCount);
        return Task.CompletedTask;
    }

    /// <summary>The failure handler dead-lettered (or tried to) this entry: it is no longer in flight here.</summary>
    public void Forget(string entryId)
    {
        lock (_lock)
        {
            _inFlight.Remove(entryId);
        }
    }

    private async Task InitializeAsync()
    {
        var database = await _connection.GetDatabaseAsync();
        await EnsureGroupAsync(database);
        var pending = await database.StreamPendingAsync(_queueKey, _options.ConsumerGroup);
        var mine = 0;
        foreach (var consumer in pending.Consumers ?? [])
        {
            if (consumer.Name == _consumer)
            {
                mine = consumer.PendingMessageCount;
            }
        }

        if (mine > 0)
        {
            _logger.QueueTakenWithPending(_queueKey, _consumer, mine);
        }
        else
        {
            _logger.QueueTaken(_queueKey, _consumer);
        }
    }

    private async Task<IList<IBatchContainer>> ReadAsync(IDatabase database, int count)
    {
        await AcknowledgeAsync(database);
        if (!_groupReady)
        {
            await EnsureGroupAsync(database);
        }

        StartPendingRescanIfDue();
        StreamEntry[] entries = [];
        if (_pendingCursor is { } cursor)
        {
            entries = await database.StreamReadGroupAsync(_queueKey, _options.ConsumerGroup, _consumer, cursor, count);
            if (entries.Length > 0)
            {
                _pendingCursor = entries[^1].Id;
                entries = SkipInFlight(entries);
                if (_recovering && entries.Length > 0)
                {
                    _logger.PendingRescan(_queueKey);
                    _recovering = false;
                }

                return await ToBatchContainersAsync(entries);
            }

            _pendingCursor = null;
            _recovering = false;
        }

        entries = await database.StreamReadGroupAsync(_queueKey, _options.ConsumerGroup, _consumer, NewEntries, count);
        return await ToBatchContainersAsync(entries);
    }

    private void StartPendingRescanIfDue()
    {
        if (_pendingCursor is not null || InFlightCount > 0)
        {
            return;
        }

        // Only while nothing is in flight: re-read entries then never duplicate what the agent's cache holds, and they
        // cannot land behind newer entries of the same stream in it.
        if (_rescanRequested || _timeProvider.GetElapsedTime(_lastPendingScan) >= _options.PendingRecoveryInterval)
        {
            _pendingCursor = StartOfPendingList;
            _recovering = true;
            _rescanRequested = false;
            _lastPendingScan = _timeProvider.GetTimestamp();
        }
    }

    private StreamEntry[] SkipInFlight(StreamEntry[] entries)
    {
        lock (_lock)
        {
            return _inFlight.Count == 0 ? entries : [.. entries.Where(entry => !_inFlight.Contains(entry.Id.ToString()))];
        }
    }

    private async Task<IList<IBatchContainer>> ToBatchContainersAsync(StreamEntry[] entries)
    {
        var containers = new List<IBatchContainer>(entries.Length);
        List<(string EntryId, RedisValue Payload, string Reason)>? poison = null;
        List<string>? trimmed = null;
        foreach (var entry in entries)
        {
            var entryId = entry.Id.ToString();
            if (entry.Values is null || entry.Values.Length == 0)
            {
                (trimmed ??= []).Add(entryId);
                continue;
            }

            var payload = entry[RedisStreamKeys.PayloadField];
            if (!RedisStreamSequenceToken.TryParse(entryId, 0, out var token))
            {
                (poison ??= []).Add((entryId, payload, "the entry id is not of the form ms-seq"));
                continue;
            }

            if (payload.IsNull)
            {
                (poison ??= []).Add((entryId, payload, $"the entry has no '{RedisStreamKeys.PayloadField}' field"));
                continue;
            }

            RedisStreamBatchContainer? container;
            try
            {
                container = _serializer.Deserialize((byte[])payload!);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                (poison ??= []).Add((entryId, payload, $"cannot deserialize the batch: {exception.GetType().Name}: {exception.Message}"));
                continue;
            }

            if (container is null)
            {
                (poison ??= []).Add((entryId, payload, "the batch deserialized to null"));
                continue;
            }

            container.Token = token;
            lock (_lock)
            {
                _inFlight.Add(entryId);
            }

            containers.Add(container);
        }

        if (poison is not null || trimmed is not null)
        {
            await RemoveUnreadableAsync(poison, trimmed);
        }

        return containers;
    }

    private async Task RemoveUnreadableAsync(List<(string EntryId, RedisValue Payload, string Reason)>? poison, List<string>? trimmed)
    {
        try
        {
            foreach (var (entryId, payload, reason) in poison ?? [])
            {
                await _deadLetters.MoveAsync(_queueKey, entryId, payload, streamId: string.Empty, reason, subscriptionId: string.Empty);
            }

            if (trimmed is not null)
            {
                foreach (var entryId in trimmed)
                {
                    _logger.EntryTrimmed(entryId, _queueKey);
                }

                var database = await _connection.GetDatabaseAsync();
                await database.StreamAcknowledgeAsync(_queueKey, _options.ConsumerGroup, [.. trimmed.Select(id => (RedisValue)id)]);
            }
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // They stay pending (and out of the in-flight set): the next pending-list scan reads them again.
            _logger.DeadLetterFailed(exception, poison?.FirstOrDefault().EntryId ?? trimmed![0], _queueKey, streamId: string.Empty);
            _rescanRequested = true;
        }
    }

    private async Task AcknowledgeAsync(IDatabase database)
    {
        RedisValue[] ids;
        lock (_lock)
        {
            if (_unacknowledged.Count == 0)
            {
                return;
            }

            ids = [.. _unacknowledged];
            _unacknowledged.Clear();
        }

        try
        {
            await database.StreamAcknowledgeAsync(_queueKey, _options.ConsumerGroup, ids);
        }
        catch (RedisServerException exception) when (IsNoGroup(exception))
        {
            // The group went away with the data (Redis restarted without persistence): nothing is left to acknowledge.
        }
        catch
        {
            lock (_lock)
            {
                _unacknowledged.InsertRange(0, ids);
            }

            throw;
        }

        lock (_lock)
        {
            foreach (var id in ids)
            {
                _inFlight.Remove(id.ToString());
            }
        }
    }

    private async Task EnsureGroupAsync(IDatabase database)
    {
        try
        {
            // From id 0, not $: entries added before the group existed (or after a restart that lost it) are delivered too.
            await database.StreamCreateConsumerGroupAsync(_queueKey, _options.ConsumerGroup, StartOfPendingList, createStream: true);
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }

        _groupReady = true;
    }

    private static bool IsNoGroup(RedisServerException exception) => exception.Message.StartsWith("NOGROUP", StringComparison.Ordinal);
}
