using System.Collections.Concurrent;
using Messengers.Runtime.Serialization;
using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Streams;

/// <summary>
/// Streams in process memory with the same contract as the Redis provider: one log per namespace, consumer
/// groups with cursors and pending entries, redelivery after failure or visibility timeout, dead letters.
/// Items are stored as JSON so producers and consumers never share objects.
/// </summary>
public sealed class MemoryStreamProvider(string name, TimeProvider time, ILoggerFactory loggers) : IStreamProvider
{
    private readonly ConcurrentDictionary<string, MemoryStreamLog> _logs = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<MemoryStreamProvider>();
    private readonly TimeProvider _time = time;

    public string Name { get; } = name;

    /// <summary>Entries kept per namespace at most; older ones are trimmed (as Redis' MAXLEN ~).</summary>
    public int MaxLength { get; init; } = 100_000;

    public IAsyncStream<T> GetStream<T>(StreamId streamId) => new MemoryStream<T>(this, streamId);

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
        var subscription = new Subscription<T>(this, Log(streamNamespace), consumerGroup, handler, options ?? StreamSubscriptionOptions.Default);
        await subscription.StartAsync();
        return subscription;
    }

    /// <summary>Entries of a group not yet acknowledged (delivered or not), for tests and status.</summary>
    public int PendingCount(string streamNamespace, string consumerGroup) => Log(streamNamespace).Unacknowledged(consumerGroup);

    private MemoryStreamLog Log(string streamNamespace) => _logs.GetOrAdd(streamNamespace, ns => new MemoryStreamLog(ns, _time, MaxLength));

    private sealed class MemoryStream<T>(MemoryStreamProvider provider, StreamId streamId) : IAsyncStream<T>
    {
        public StreamId StreamId => streamId;

        public Task<string> OnNextAsync(T item, CancellationToken cancellationToken = default)
            => Task.FromResult(provider.Log(streamId.Namespace).Append(streamId.Key, GrainJson.SerializeToUtf8Bytes(item)));
    }

    private sealed class Subscription<T> : IStreamSubscription
    {
        private readonly MemoryStreamProvider _provider;
        private readonly MemoryStreamLog _log;
        private readonly StreamHandler<T> _handler;
        private readonly StreamSubscriptionOptions _options;
        private readonly OrderedDispatcher<MemoryStreamLog.Delivery> _dispatcher;
        private readonly CancellationTokenSource _stop = new();
        private Task? _loop;

        public Subscription(MemoryStreamProvider provider, MemoryStreamLog log, string group, StreamHandler<T> handler, StreamSubscriptionOptions options)
        {
            _provider = provider;
            _log = log;
            _handler = handler;
            _options = options;
            ConsumerGroup = group;
            ConsumerName = options.ConsumerName ?? $"{Environment.MachineName}-{Guid.NewGuid():N}";
            _dispatcher = new OrderedDispatcher<MemoryStreamLog.Delivery>(options.MaxConcurrency, d => new StreamId(log.Namespace, d.Key), HandleAsync);
        }

        public string StreamNamespace => _log.Namespace;

        public string ConsumerGroup { get; }

        public string ConsumerName { get; }

        public Task StartAsync()
        {
            _log.EnsureGroup(ConsumerGroup);
            _loop = Task.Run(LoopAsync);
            return Task.CompletedTask;
        }

        public Task AcknowledgeAsync(StreamId streamId, string entryId, CancellationToken cancellationToken = default)
        {
            _log.Acknowledge(ConsumerGroup, entryId);
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            await _stop.CancelAsync();
            if (_loop is not null)
            {
                await _loop;
            }

            await _dispatcher.DrainAsync();
            _log.Release(ConsumerGroup, ConsumerName);
            _dispatcher.Dispose();
            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                try
                {
                    var signal = _log.Signal;
                    var free = Math.Max(1, _options.MaxConcurrency - _dispatcher.InFlight);
                    var batch = _log.Fetch(ConsumerGroup, ConsumerName, Math.Min(_options.BatchSize, free), _options, out var deadLetters);
                    foreach (var dead in deadLetters)
                    {
                        StreamLog.DeadLettered(_provider._logger, dead.StreamNamespace, dead.StreamKey, dead.EntryId, dead.ConsumerGroup, dead.DeliveryCount, dead.LastError);
                        _provider.Log(StreamNames.DeadLetterNamespace(dead.StreamNamespace)).Append(dead.StreamKey, GrainJson.SerializeToUtf8Bytes(dead));
                    }

                    if (batch.Count == 0)
                    {
                        await signal.WaitAsync(PollInterval(), _provider._time, token).ConfigureAwait(false);
                        continue;
                    }

                    foreach (var delivery in batch)
                    {
                        await _dispatcher.EnqueueAsync(delivery, token);
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (TimeoutException)
                {
                    // Nothing new: look again for entries due for redelivery.
                }
            }
        }

        private TimeSpan PollInterval()
            => TimeSpan.FromTicks(Math.Clamp(Math.Min(_options.RetryDelay.Ticks, _options.VisibilityTimeout.Ticks) / 2, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));

        private async Task HandleAsync(MemoryStreamLog.Delivery delivery)
        {
            try
            {
                var item = GrainJson.Deserialize<T>(delivery.Payload);
                await _handler(new StreamEntry<T>(new StreamId(_log.Namespace, delivery.Key), delivery.EntryId, item, delivery.DeliveryCount), _stop.Token);
                if (_options.AutoAcknowledge)
                {
                    _log.Acknowledge(ConsumerGroup, delivery.EntryId);
                }
            }
            catch (Exception exception)
            {
                StreamLog.HandlerFailed(_provider._logger, exception, _log.Namespace, delivery.Key, delivery.EntryId, ConsumerGroup, delivery.DeliveryCount);
                _log.Fail(ConsumerGroup, delivery.EntryId, _options.RetryDelayAfter(delivery.DeliveryCount), $"{exception.GetType().Name}: {exception.Message}");
            }
        }
    }

}
