using System.Collections.Concurrent;
using System.Text;
using Messengers.Runtime.Redis;
using Messengers.Runtime.Serialization;
using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Streams.Redis;

/// <summary>
/// Streams on Redis Streams with consumer groups: the same contract as <see cref="MemoryStreamProvider"/> (at least
/// once, ack after the handler, per-stream-id order inside a consumer, reclaim after the visibility timeout, retries
/// with growing delay, dead letters), shared by every silo that uses the same Redis.
/// <para>Key layout (<c>P</c> = <see cref="RedisStreamOptions.KeyPrefix"/>, default <c>msg</c>; <c>NS</c> = the stream
/// namespace with <c>%</c> written as <c>%25</c> and <c>:</c> as <c>%3A</c>, so it never contains a colon; <c>KEY</c> =
/// the stream key as is):</para>
/// <list type="bullet">
/// <item><c>P:NS:KEY</c> — a Redis stream per stream id. Entries have one field <c>d</c>: the item as GrainJson (UTF-8 JSON).
/// Trimmed with <c>XADD MAXLEN ~</c> <see cref="RedisStreamOptions.MaxLength"/>. Every consumer group of the namespace
/// is a Redis consumer group of this stream, created at id 0 (the oldest retained entry) when a consumer first sees the key.</item>
/// <item><c>P:NS</c> — a set of the namespace's stream keys (the registry). Producers add a key the first time they write
/// to it (and again after every reconnect, in case Redis lost it); consumers read it at start and every
/// <see cref="RedisStreamOptions.KeyRefreshInterval"/>.</item>
/// <item>Pub/sub channel <c>P:NS</c> — a producer that adds a new key to the registry publishes the key here; consumers
/// subscribe and start reading the key at once (waking their blocked XREADGROUP with CLIENT UNBLOCK).</item>
/// <item>Dead letters go to the namespace <see cref="StreamNames.DeadLetterNamespace"/> (<c>P:NS.dead:KEY</c>), payload a
/// <see cref="DeadLetter"/>.</item>
/// </list>
/// <para>A consumer reads all keys of its namespace with one XREADGROUP (COUNT, BLOCK) on a dedicated connection;
/// everything else goes through the shared multiplexed <see cref="RedisConnection"/>. Consumer names are per
/// subscription, so XPENDING shows who holds what. A failed entry is claimed back by its consumer (XCLAIM) after
/// <see cref="StreamSubscriptionOptions.RetryDelayAfter"/>; entries idle longer than the visibility timeout (a dead or stuck
/// consumer) are taken over by any live member with XAUTOCLAIM. Disposing a subscription hands its unacknowledged
/// entries to the consumer <c>(released)</c> marked idle, so the rest of the group reclaims them at its next pass.</para>
/// </summary>
public sealed class RedisStreamProvider : IStreamProvider, IAsyncDisposable
{
    internal const string PayloadField = "d";
    internal const string ReleasedConsumer = "(released)";

    private readonly ConcurrentDictionary<string, long> _registered = new(StringComparer.Ordinal);
    private readonly Lazy<RedisSubscriber> _subscriber;
    private readonly ILoggerFactory _loggers;

    public RedisStreamProvider(string name, RedisConnection redis, RedisStreamOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.KeyPrefix);
        Name = name;
        Redis = redis;
        Options = options;
        Time = time ?? TimeProvider.System;
        _loggers = loggers;
        Logger = loggers.CreateLogger<RedisStreamProvider>();
        _subscriber = new Lazy<RedisSubscriber>(redis.CreateSubscriber, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Name { get; }

    public RedisStreamOptions Options { get; }

    internal RedisConnection Redis { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal RedisSubscriber Subscriber => _subscriber.Value;

    public IAsyncStream<T> GetStream<T>(StreamId streamId)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId.Namespace);
        ArgumentNullException.ThrowIfNull(streamId.Key);
        return new RedisAsyncStream<T>(this, streamId);
    }

    public async Task<IStreamSubscription> SubscribeAsync<T>(
        string streamNamespace,
        string consumerGroup,
        StreamHandler<T> handler,
        StreamSubscriptionOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamNamespace);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new RedisStreamSubscription<T>(this, streamNamespace, consumerGroup, handler, options ?? StreamSubscriptionOptions.Default, _loggers);
        try
        {
            await subscription.StartAsync(cancellationToken);
        }
        catch
        {
            await subscription.DisposeAsync();
            throw;
        }

        return subscription;
    }

    /// <summary>Entries of a group in a namespace not yet acknowledged: delivered and pending, plus not yet delivered (lag).</summary>
    public async Task<long> UnacknowledgedCountAsync(string streamNamespace, string consumerGroup, CancellationToken cancellationToken = default)
    {
        var keys = await Redis.SMembersAsync(RegistryKey(streamNamespace), cancellationToken);
        var counts = await Task.WhenAll(keys.Select(async key =>
        {
            var redisKey = StreamKey(streamNamespace, key);
            try
            {
                var groups = await Redis.XInfoGroupsAsync(redisKey, cancellationToken);
                var group = groups.FirstOrDefault(g => g["name"].AsString() == consumerGroup);
                if (group is null)
                {
                    return await Redis.XLenAsync(redisKey, cancellationToken);
                }

                var lag = group.TryGetValue("lag", out var l) && !l.IsNull ? l.AsInt64() : 0;
                return group["pending"].AsInt64() + lag;
            }
            catch (RedisServerException exception) when (exception.Is("ERR"))
            {
                return 0L; // the key does not exist
            }
        }));
        return counts.Sum();
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscriber.IsValueCreated)
        {
            await _subscriber.Value.DisposeAsync();
        }
    }

    /// <summary>The Redis stream of a stream id: <c>P:NS:KEY</c>.</summary>
    public string StreamKey(string streamNamespace, string key) => $"{Options.KeyPrefix}:{EscapeNamespace(streamNamespace)}:{key}";

    /// <summary>The registry set (and announcement channel) of a namespace: <c>P:NS</c>.</summary>
    public string RegistryKey(string streamNamespace) => $"{Options.KeyPrefix}:{EscapeNamespace(streamNamespace)}";

    internal static string EscapeNamespace(string streamNamespace)
        => streamNamespace.Contains('%', StringComparison.Ordinal) || streamNamespace.Contains(':', StringComparison.Ordinal)
            ? streamNamespace.Replace("%", "%25", StringComparison.Ordinal).Replace(":", "%3A", StringComparison.Ordinal)
            : streamNamespace;

    /// <summary>Adds a key to its namespace's registry once per connection epoch and announces new keys.</summary>
    internal async ValueTask RegisterAsync(StreamId streamId, string redisKey, CancellationToken cancellationToken)
    {
        var epoch = Redis.ConnectionEpoch;
        if (_registered.TryGetValue(redisKey, out var seen) && seen == epoch && epoch != 0)
        {
            return;
        }

        var registry = RegistryKey(streamId.Namespace);
        if (await Redis.SAddAsync(registry, streamId.Key, cancellationToken) == 1)
        {
            await Redis.PublishAsync(registry, streamId.Key, cancellationToken);
        }

        _registered[redisKey] = Redis.ConnectionEpoch == epoch ? epoch : 0;
    }

    internal async Task<string> AppendAsync(StreamId streamId, byte[] payload, CancellationToken cancellationToken)
    {
        var redisKey = StreamKey(streamId.Namespace, streamId.Key);
        await RegisterAsync(streamId, redisKey, cancellationToken);
        return await Redis.XAddAsync(redisKey, PayloadField, payload, Options.MaxLength, approximate: true, cancellationToken);
    }

    internal static string Utf8(byte[] payload) => Encoding.UTF8.GetString(payload);

    private sealed class RedisAsyncStream<T>(RedisStreamProvider provider, StreamId streamId) : IAsyncStream<T>
    {
        public StreamId StreamId => streamId;

        public Task<string> OnNextAsync(T item, CancellationToken cancellationToken = default)
            => provider.AppendAsync(streamId, GrainJson.SerializeToUtf8Bytes(item), cancellationToken);
    }
}
