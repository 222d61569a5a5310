using Messengers.Data.Webhooks;

namespace Messengers.Webhooks;

/// <summary>
/// Keeps an instance's subscriptions (see <see cref="IWebhookSubscriptionsGrain"/>). They are read again after
/// <see cref="WebhookOptions.SubscriptionCacheTime"/> as well, which bounds how long a change that reached the store
/// but not this grain (its caller failed in between) goes unseen.
/// </summary>
public sealed class WebhookSubscriptionsGrain(IWebhookStore store, WebhookOptions options, TimeProvider time) : Grain, IWebhookSubscriptionsGrain
{
    private IReadOnlyList<WebhookSubscription>? _subscriptions;
    private long _loadedAt;

    public async Task<IReadOnlyList<WebhookSubscription>> GetAsync()
    {
        if (_subscriptions is null || time.GetElapsedTime(_loadedAt) >= options.SubscriptionCacheTime)
        {
            await LoadAsync();
        }

        return _subscriptions!;
    }

    public Task ChangedAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        var loadedAt = time.GetTimestamp();
        _subscriptions = await store.ListAsync(this.GetPrimaryKeyString());
        _loadedAt = loadedAt;
    }
}
