using Messengers.Data.Webhooks;
using Orleans.Concurrency;

namespace Messengers.Webhooks;

/// <summary>
/// The webhook subscriptions of one instance (key: instance id) as the event writers need them for every message:
/// read from the store once and kept, one activation in the cluster, so a change made through any silo applies to
/// the next event whichever silo writes it.
/// </summary>
public interface IWebhookSubscriptionsGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<IReadOnlyList<WebhookSubscription>> GetAsync();

    /// <summary>Call after changing the instance's subscriptions in the store: they are read again.</summary>
    Task ChangedAsync();
}
