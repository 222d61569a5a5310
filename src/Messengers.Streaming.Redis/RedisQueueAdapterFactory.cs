using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Configuration.Overrides;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Composes the provider for Orleans' persistent stream runtime: the adapter (writes), one receiver per owned queue (reads
/// and acknowledgements), <see cref="HashRingBasedStreamQueueMapper"/> (so the default ConsistentRingQueueBalancer works),
/// <see cref="SimpleQueueAdapterCache"/>, and the dead-letter failure handler. Owns the provider's Redis connection.
/// </summary>
internal sealed class RedisQueueAdapterFactory : IQueueAdapterFactory, IAsyncDisposable, IDisposable
{
    private readonly string _name;
    private readonly string _serviceId;
    private readonly RedisStreamOptions _options;
    private readonly IServiceProvider _services;
    private readonly Serializer<RedisStreamBatchContainer> _serializer;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly HashRingBasedStreamQueueMapper _queueMapper;
    private readonly SimpleQueueAdapterCache _cache;
    private readonly RedisStreamConnection _connection;
    private readonly RedisDeadLetterWriter _deadLetters;
    private readonly RedisQueueAdapter _adapter;
    private readonly ConcurrentDictionary<QueueId, RedisQueueAdapterReceiver> _receivers = new();

    public RedisQueueAdapterFactory(
        string name,
        string serviceId,
        RedisStreamOptions options,
        IServiceProvider services,
        Serializer<RedisStreamBatchContainer> serializer,
        ILoggerFactory loggerFactory,
        TimeProvider timeProvider)
    {
        _name = name;
        _serviceId = serviceId;
        _options = options;
        _services = services;
        _serializer = serializer;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger($"{typeof(RedisQueueAdapterFactory).Namespace}.{name}");
        _queueMapper = new HashRingBasedStreamQueueMapper(new HashRingStreamQueueMapperOptions { TotalQueueCount = options.QueueCount }, name);
        _cache = new SimpleQueueAdapterCache(new SimpleQueueCacheOptions { CacheSize = options.CacheSize }, name, loggerFactory);
        _connection = new RedisStreamConnection(options, services);
        _deadLetters = new RedisDeadLetterWriter(
            _connection,
            RedisStreamKeys.DeadLetter(options.KeyPrefix, serviceId, name),
            options.ConsumerGroup,
            options.DeadLetterMaxLength,
            timeProvider,
            _logger);
        _adapter = new RedisQueueAdapter(name, options, _queueMapper, _connection, serializer, QueueKey, CreateReceiver);
    }

    /// <summary>The factory Orleans calls (<c>AddPersistentStreams(name, Create, ...)</c>) on silos and clients.</summary>
    public static RedisQueueAdapterFactory Create(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<RedisStreamOptions>>().Get(name);
        var clusterOptions = services.GetProviderClusterOptions(name).Value;
        return new RedisQueueAdapterFactory(
            name,
            clusterOptions.ServiceId,
            options,
            services,
            services.GetRequiredService<Serializer<RedisStreamBatchContainer>>(),
            services.GetRequiredService<ILoggerFactory>(),
            services.GetService<TimeProvider>() ?? TimeProvider.System);
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => CreateAdapter(CancellationToken.None);

    public async Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken)
    {
        // Opens the connection at start-up (a bad connection string fails here); with abortConnect=false an unreachable
        // Redis does not fail the silo, the connection keeps retrying.
        await _connection.GetDatabaseAsync(cancellationToken);
        return _adapter;
    }

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _queueMapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId)
        => Task.FromResult<IStreamFailureHandler>(new RedisDeadLetterFailureHandler(queueId, this));

    public async Task DeadLetterFailedDeliveryAsync(QueueId queueId, GuidId subscriptionId, StreamId streamId, StreamSequenceToken? token)
    {
        if (token is not RedisStreamSequenceToken redisToken)
        {
            _logger.DeliveryFailedWithoutEntry(streamId.ToString(), _name, token?.ToString() ?? "none");
            return;
        }

        var key = QueueKey(queueId);
        var entryId = redisToken.EntryId;
        var reason = $"the consumer failed for longer than MaxEventDeliveryTime ({MaxEventDeliveryTime()})";
        try
        {
            var database = await _connection.GetDatabaseAsync();
            var entries = await database.StreamRangeAsync(key, entryId, entryId, count: 1);
            var payload = entries.Length == 1 ? entries[0][RedisStreamKeys.PayloadField] : RedisValue.Null;
            await _deadLetters.MoveAsync(key, entryId, payload, streamId.ToString(), reason, subscriptionId.ToString());
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // Left pending: read again by a later pending-list scan (or the next owner), delivered, and dead-lettered then.
            _logger.DeadLetterFailed(exception, entryId, key, streamId.ToString());
        }
        finally
        {
            if (_receivers.TryGetValue(queueId, out var receiver))
            {
                receiver.Forget(entryId);
            }
        }
    }

    public void LogSubscriptionFailure(GuidId subscriptionId, StreamId streamId, StreamSequenceToken? token)
        => _logger.SubscriptionFailed(subscriptionId.ToString(), streamId.ToString(), _name, token?.ToString() ?? "none");

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    public void Dispose() => _connection.Dispose();

    private string QueueKey(QueueId queueId) => RedisStreamKeys.Queue(_options.KeyPrefix, _serviceId, _name, queueId.GetNumericId());

    private RedisQueueAdapterReceiver CreateReceiver(QueueId queueId)
    {
        var receiver = new RedisQueueAdapterReceiver(
            QueueKey(queueId),
            RedisStreamKeys.Consumer(queueId.GetNumericId()),
            _options,
            _connection,
            _serializer,
            _deadLetters,
            _timeProvider,
            _logger);
        _receivers[queueId] = receiver;
        return receiver;
    }

    private TimeSpan MaxEventDeliveryTime()
        => _services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get(_name).MaxEventDeliveryTime;
}
