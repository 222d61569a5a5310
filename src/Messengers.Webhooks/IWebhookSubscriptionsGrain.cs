using Messengers.Data.Webhooks;
using Orleans.Concurrency;

namespace Messengers.Webhooks;

/// <summary>
/// The webhook subscriptions of one instance (key: instance id) as the event writers need them for every message:
/// read from the store once and kept, one activation in the cluster, so a change made through any silo applies to
/// the next event whichever silo writes it. The stream consumers watch them instead of asking for every event.
/// </summary>
public interface IWebhookSubscriptionsGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<IReadOnlyList<WebhookSubscription>> GetAsync();

    /// <summary>The subscriptions, and <paramref name="watcher"/> is told of every change until it unwatches.</summary>
    [ReadOnly]
    Task<IReadOnlyList<WebhookSubscription>> WatchAsync(IWebhookEventGrain watcher);

    [OneWay]
    Task UnwatchAsync(IWebhookEventGrain watcher);

    /// <summary>Call after changing the instance's subscriptions in the store: they are read again and pushed to the watchers.</summary>
    Task ChangedAsync();
}
