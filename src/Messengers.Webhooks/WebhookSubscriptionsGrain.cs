using Messengers.Data.Webhooks;
using Microsoft.Extensions.Logging;

namespace Messengers.Webhooks;

/// <summary>
/// Keeps an instance's subscriptions (see <see cref="IWebhookSubscriptionsGrain"/>). They are read again after
/// <see cref="WebhookOptions.SubscriptionCacheTime"/> as well, which bounds how long a change that reached the store
/// but not this grain (its caller failed in between) goes unseen; watchers ask again after the same time, which
/// bounds how long a watcher that missed a push (this grain's silo died) keeps an old list.
/// </summary>
public sealed partial class WebhookSubscriptionsGrain(IWebhookStore store, WebhookOptions options, TimeProvider time, ILogger<WebhookSubscriptionsGrain> logger)
    : Grain, IWebhookSubscriptionsGrain
{
    /// <summary>How long a change waits for one watcher to take it; a watcher that does not take it reads again after its cache time.</summary>
    private static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(2);

    private readonly HashSet<IWebhookEventGrain> _watchers = [];
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

    public Task<IReadOnlyList<WebhookSubscription>> WatchAsync(IWebhookEventGrain watcher)
    {
        _watchers.Add(watcher);
        return GetAsync();
    }

    public Task UnwatchAsync(IWebhookEventGrain watcher)
    {
        _watchers.Remove(watcher);
        return Task.CompletedTask;
    }

    public async Task ChangedAsync()
    {
        await LoadAsync();
        await PushAsync(_subscriptions);
    }

    /// <summary>
    /// The next activation starts without watchers, so they are told to ask again — unless the silo is stopping, when
    /// calls cannot be placed; watchers elsewhere then re-read within the cache time.
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
        => reason.ReasonCode == DeactivationReasonCode.ShuttingDown ? Task.CompletedTask : PushAsync(null);

    private async Task LoadAsync()
    {
        var loadedAt = time.GetTimestamp();
        _subscriptions = await store.ListAsync(this.GetPrimaryKeyString());
        _loadedAt = loadedAt;
    }

    /// <summary>Tells every watcher at once; one that fails or is slow is dropped (it asks again after its cache time).</summary>
    private async Task PushAsync(IReadOnlyList<WebhookSubscription>? subscriptions)
    {
        var watchers = _watchers.ToList();
        var pushes = watchers.Select(w => w.SubscriptionsChangedAsync(subscriptions).WaitAsync(PushTimeout, time)).ToList();
        try
        {
            await Task.WhenAll(pushes);
        }
        catch (Exception)
        {
            var failed = 0;
            for (var i = 0; i < watchers.Count; i++)
            {
                if (!pushes[i].IsCompletedSuccessfully)
                {
                    _watchers.Remove(watchers[i]);
                    failed++;
                }
            }

            Log.PushFailed(logger, this.GetPrimaryKeyString(), failed, watchers.Count);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook subscriptions of {InstanceId}: {Failed} of {Watchers} event writers were not told of a change; they read it again within the cache time")]
        public static partial void PushFailed(ILogger logger, string instanceId, int failed, int watchers);
    }
}
