using System.Collections.Concurrent;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Grains.Webhooks;

/// <summary>A change of an instance's webhook subscriptions, told to every silo's <see cref="WebhookSubscriptionCache"/>.</summary>
public sealed record WebhookSubscriptionsChanged(string InstanceId);

/// <summary>
/// The subscriptions of each instance as the event writer needs them for every message, read from the store at most
/// once per <see cref="WebhookOptions.SubscriptionCacheTime"/>. A change (<see cref="NotifyChangedAsync"/>) invalidates
/// this silo's entry at once and is broadcast on the <see cref="ChangesNamespace"/> stream, which every silo reads with
/// a consumer group of its own, so the other silos of a cluster drop theirs within moments; the cache time bounds the
/// staleness should a broadcast be lost. A load that raced with an invalidation is returned but not kept.
/// </summary>
public sealed partial class WebhookSubscriptionCache : IHostedService
{
    public const string ChangesNamespace = "webhook-subscriptions";

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);
    private readonly IWebhookStore _store;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly IStreamProvider? _streams;
    private readonly string _siloName;
    private readonly ILogger _logger;
    private IStreamSubscription? _changes;

    /// <param name="streams">Where changes are broadcast and heard; without it the cache only knows this silo's changes.</param>
    /// <param name="siloName">Names this silo's consumer group on the changes stream.</param>
    public WebhookSubscriptionCache(IWebhookStore store, WebhookOptions options, TimeProvider time, IStreamProvider? streams = null, string siloName = "local", ILogger<WebhookSubscriptionCache>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _options = options;
        _time = time;
        _streams = streams;
        _siloName = siloName;
        _logger = logger ?? NullLogger<WebhookSubscriptionCache>.Instance;
    }

    public async ValueTask<IReadOnlyList<WebhookSubscription>> GetAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetTimestamp();
        if (_entries.TryGetValue(instanceId, out var entry) && _time.GetElapsedTime(entry.LoadedAt, now) < _options.SubscriptionCacheTime)
        {
            return entry.Subscriptions;
        }

        var generation = _generations.GetValueOrDefault(instanceId);
        var subscriptions = await _store.ListAsync(instanceId, cancellationToken);
        if (_generations.GetValueOrDefault(instanceId) == generation)
        {
            _entries[instanceId] = new Entry(subscriptions, now);
        }

        return subscriptions;
    }

    /// <summary>Forgets what this silo knows of the instance's subscriptions; the next event reads them again.</summary>
    public void Invalidate(string instanceId)
    {
        _generations.AddOrUpdate(instanceId, 1, (_, generation) => generation + 1);
        _entries.TryRemove(instanceId, out _);
    }

    /// <summary>
    /// Call after changing an instance's subscriptions: invalidates here and tells the other silos. A broadcast that
    /// cannot be sent is logged, not thrown (the change itself is stored; other silos catch up within the cache time).
    /// </summary>
    public async Task NotifyChangedAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        Invalidate(instanceId);
        if (_streams is null)
        {
            return;
        }

        try
        {
            await _streams.GetStream<WebhookSubscriptionsChanged>(StreamId.Create(ChangesNamespace, instanceId))
                .OnNextAsync(new WebhookSubscriptionsChanged(instanceId), cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            BroadcastFailed(_logger, instanceId, _options.SubscriptionCacheTime, exception.Message);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_streams is not null)
        {
            _changes = await _streams.SubscribeAsync<WebhookSubscriptionsChanged>(ChangesNamespace, $"webhook-cache-{_siloName}", (entry, _) =>
            {
                Invalidate(entry.Item.InstanceId);
                return Task.CompletedTask;
            }, cancellationToken: cancellationToken);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _changes, null) is { } changes)
        {
            await changes.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell other silos that the webhooks of {InstanceId} changed; they apply there within {CacheTime}: {Reason}")]
    private static partial void BroadcastFailed(ILogger logger, string instanceId, TimeSpan cacheTime, string reason);

    private sealed record Entry(IReadOnlyList<WebhookSubscription> Subscriptions, long LoadedAt);
}
