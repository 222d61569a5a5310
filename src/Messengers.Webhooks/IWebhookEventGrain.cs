using Messengers.Data.Webhooks;
using Orleans.Concurrency;

namespace Messengers.Webhooks;

/// <summary>
/// The webhook writer of one stream (key: the stream's key). It consumes the stream and keeps its instance's
/// subscriptions, which the <see cref="IWebhookSubscriptionsGrain"/> pushes to it when they change.
/// </summary>
public interface IWebhookEventGrain : IGrainWithStringKey
{
    /// <summary>The instance's subscriptions changed (<c>null</c>: forget them and ask again before the next event).</summary>
    [AlwaysInterleave]
    Task SubscriptionsChangedAsync(IReadOnlyList<WebhookSubscription>? subscriptions);
}
