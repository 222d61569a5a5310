using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Grains.Webhooks;

/// <summary>
/// A consumer group ("webhooks") over the inbound, outbound and status streams. Each entry becomes events
/// (<see cref="WebhookEvent.FromInbound"/>, <see cref="WebhookEvent.FromOutbound"/>, <see cref="WebhookEvent.FromStatus"/>)
/// written into the outbox for every enabled subscription of the instance that asks for them; the entry is acknowledged
/// only after the rows are stored. Event ids are deterministic, so a redelivered entry adds no second row.
/// </summary>
public sealed partial class WebhookEventWriter : IHostedService
{
    public const string ConsumerGroup = "webhooks";

    private readonly IWebhookStore _store;
    private readonly WebhookSubscriptionCache _subscriptions;
    private readonly IStreamProvider _streams;
    private readonly ILogger<WebhookEventWriter> _logger;
    private readonly WebhookDispatcher? _dispatcher;
    private readonly Func<string, CancellationToken, Task<string?>>? _providerOf;
    private readonly ConcurrentDictionary<string, string?> _providers = new(StringComparer.Ordinal);
    private readonly List<IStreamSubscription> _streamSubscriptions = [];
    private bool _stopped;
    private Task? _stop;

    /// <param name="dispatcher">Woken after new rows are stored, so deliveries start without waiting for its next poll.</param>
    /// <param name="providerOf">The provider name of an instance, for the flat payload's <c>provider</c> field.</param>
    /// <param name="subscriptions">Where the subscriptions of an instance are looked up (default: the store, read for every event).</param>
    public WebhookEventWriter(
        IWebhookStore store,
        IStreamProvider streams,
        ILogger<WebhookEventWriter> logger,
        WebhookDispatcher? dispatcher = null,
        Func<string, CancellationToken, Task<string?>>? providerOf = null,
        WebhookSubscriptionCache? subscriptions = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _subscriptions = subscriptions ?? new WebhookSubscriptionCache(store, new WebhookOptions { SubscriptionCacheTime = TimeSpan.Zero }, TimeProvider.System);
        _streams = streams;
        _logger = logger;
        _dispatcher = dispatcher;
        _providerOf = providerOf;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new StreamSubscriptionOptions { MaxConcurrency = 32, VisibilityTimeout = TimeSpan.FromMinutes(2), RetryDelay = TimeSpan.FromSeconds(1), MaxDeliveryAttempts = 20 };
        await KeepAsync(await _streams.SubscribeAsync<ChatMessage>(MessageStreams.Inbound, ConsumerGroup,
            (entry, ct) => WriteIfSubscribedAsync(entry.Item.InstanceId, entry.Item, WebhookEvent.FromInbound, ct), options, cancellationToken));
        await KeepAsync(await _streams.SubscribeAsync<ChatMessage>(MessageStreams.Outbound, ConsumerGroup,
            (entry, ct) => WriteIfSubscribedAsync(entry.Item.InstanceId, entry.Item, WebhookEvent.FromOutbound, ct), options, cancellationToken));
        await KeepAsync(await _streams.SubscribeAsync<InstanceInfo>(MessageStreams.Status, ConsumerGroup,
            (entry, ct) => WriteIfSubscribedAsync(entry.Item.Id, entry.Item, WebhookEvent.FromStatus, ct), options, cancellationToken));
    }

    /// <summary>Builds the events of an entry (ids are hashes, payloads are rendered) only for an instance with subscriptions.</summary>
    private async Task WriteIfSubscribedAsync<T>(string instanceId, T item, Func<T, IReadOnlyList<WebhookEvent>> events, CancellationToken cancellationToken)
    {
        if ((await _subscriptions.GetAsync(instanceId, cancellationToken)).Count > 0)
        {
            await WriteAsync(events(item), cancellationToken);
        }
    }

    /// <summary>Remembers a subscription, or closes it at once when the writer was stopped meanwhile.</summary>
    private async Task KeepAsync(IStreamSubscription subscription)
    {
        lock (_streamSubscriptions)
        {
            if (!_stopped)
            {
                _streamSubscriptions.Add(subscription);
                return;
            }
        }

        await subscription.DisposeAsync();
    }

    /// <summary>
    /// Stop may be called more than once, even concurrently (the host stops its services from StopAsync and from the
    /// application-stopping signal); every caller awaits the one run that closes the subscriptions.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_streamSubscriptions)
        {
            _stopped = true;
            return _stop ??= CloseSubscriptionsAsync([.. _streamSubscriptions]);
        }
    }

    private static async Task CloseSubscriptionsAsync(IStreamSubscription[] subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync();
        }
    }

    /// <summary>
    /// Stores <paramref name="events"/> (all of one instance) in the outbox of every enabled subscription that asks for
    /// them. Returns the rows added; rows already there (a redelivered entry) are not added again. Other parts raise
    /// their own events (agent.failed) through this method.
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<WebhookEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return 0;
        }

        var instanceId = events[0].InstanceId;
        var subscriptions = await _subscriptions.GetAsync(instanceId, cancellationToken);
        var entries = new List<WebhookOutboxEntry>();
        foreach (var evt in events)
        {
            foreach (var subscription in subscriptions)
            {
                if (!subscription.Enabled || !WebhookEventTypes.Matches(subscription.Events, evt.Type))
                {
                    continue;
                }

                var provider = subscription.Format == WebhookFormats.Flat ? await ProviderOfAsync(evt, cancellationToken) : null;
                entries.Add(new WebhookOutboxEntry(evt.Id, subscription.Id, evt.InstanceId, evt.Type, evt.Render(subscription.Format, provider)));
            }
        }

        if (entries.Count == 0)
        {
            return 0;
        }

        var added = await _store.EnqueueAsync(entries, cancellationToken);
        Log.Enqueued(_logger, instanceId, added, entries.Count - added);
        if (added > 0)
        {
            _dispatcher?.Wake();
        }

        return added;
    }

    private async Task<string?> ProviderOfAsync(WebhookEvent evt, CancellationToken cancellationToken)
    {
        if (evt.Instance is { } info)
        {
            return info.Provider;
        }

        if (_providers.TryGetValue(evt.InstanceId, out var known) || _providerOf is null)
        {
            return known;
        }

        try
        {
            var provider = await _providerOf(evt.InstanceId, cancellationToken);
            _providers[evt.InstanceId] = provider;
            return provider;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            Log.ProviderUnknown(_logger, evt.InstanceId, exception.Message);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook events of {InstanceId}: {Added} outbox rows added, {Duplicates} already there")]
        public static partial void Enqueued(ILogger logger, string instanceId, int added, int duplicates);

        [LoggerMessage(Level = LogLevel.Information, Message = "Provider of {InstanceId} unknown for a flat webhook payload: {Reason}")]
        public static partial void ProviderUnknown(ILogger logger, string instanceId, string reason);
    }
}
