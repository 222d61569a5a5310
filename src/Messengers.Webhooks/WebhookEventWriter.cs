using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Data.Webhooks;
using Microsoft.Extensions.Logging;

namespace Messengers.Webhooks;

/// <summary>
/// Writes webhook events into the outbox: one row per event and enabled subscription that asks for it, rendered in
/// the subscription's format. Event ids are deterministic, so an event written twice (a redelivered stream entry)
/// adds no second row. The stream consumers (<see cref="WebhookEventGrain"/>) and other parts (agent.failed) write
/// through it.
/// </summary>
/// <param name="grains">Where an instance's subscriptions and provider name are looked up; without it (tests of the writer alone) callers pass the subscriptions and flat payloads carry no provider.</param>
public sealed partial class WebhookEventWriter(IWebhookStore store, IGrainFactory? grains, ILogger<WebhookEventWriter> logger, WebhookDispatcher? dispatcher = null)
{
    private readonly ConcurrentDictionary<string, string?> _providers = new(StringComparer.Ordinal);

    /// <summary>Writes <paramref name="events"/> (all of one instance) for the instance's current subscriptions.</summary>
    public async Task<int> WriteAsync(IReadOnlyList<WebhookEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return 0;
        }

        var subscriptions = grains is null
            ? await store.ListAsync(events[0].InstanceId, cancellationToken)
            : await grains.GetGrain<IWebhookSubscriptionsGrain>(events[0].InstanceId).GetAsync();
        return await WriteAsync(events, subscriptions, cancellationToken);
    }

    /// <summary>
    /// Stores <paramref name="events"/> (all of one instance) in the outbox of every enabled subscription of
    /// <paramref name="subscriptions"/> that asks for them. Returns the rows added; rows already there are not added again.
    /// </summary>
    public async Task<int> WriteAsync(IReadOnlyList<WebhookEvent> events, IReadOnlyList<WebhookSubscription> subscriptions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(subscriptions);
        if (events.Count == 0 || subscriptions.Count == 0)
        {
            return 0;
        }

        var instanceId = events[0].InstanceId;
        var entries = new List<WebhookOutboxEntry>();
        foreach (var evt in events)
        {
            foreach (var subscription in subscriptions)
            {
                if (!subscription.Enabled || !WebhookEventTypes.Matches(subscription.Events, evt.Type))
                {
                    continue;
                }

                var provider = subscription.Format == WebhookFormats.Flat ? await ProviderOfAsync(evt) : null;
                entries.Add(new WebhookOutboxEntry(evt.Id, subscription.Id, evt.InstanceId, evt.Type, evt.Render(subscription.Format, provider)));
            }
        }

        if (entries.Count == 0)
        {
            return 0;
        }

        var added = await store.EnqueueAsync(entries, cancellationToken);
        Log.Enqueued(logger, instanceId, added, entries.Count - added);
        if (added > 0)
        {
            dispatcher?.Wake();
        }

        return added;
    }

    private async Task<string?> ProviderOfAsync(WebhookEvent evt)
    {
        if (evt.Instance is { } info)
        {
            return info.Provider;
        }

        if (_providers.TryGetValue(evt.InstanceId, out var known) || grains is null)
        {
            return known;
        }

        try
        {
            var provider = (await grains.GetGrain<IInstanceGrain>(evt.InstanceId).GetAsync())?.Provider;
            _providers[evt.InstanceId] = provider;
            return provider;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            Log.ProviderUnknown(logger, evt.InstanceId, exception.Message);
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
