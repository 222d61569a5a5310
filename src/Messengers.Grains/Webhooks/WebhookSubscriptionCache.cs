using System.Collections.Concurrent;

namespace Messengers.Grains.Webhooks;

/// <summary>
/// The subscriptions of each instance as the event writer needs them for every message, read from the store at most
/// once per <see cref="WebhookOptions.SubscriptionCacheTime"/>. A change made through this process's API invalidates
/// its entry at once; a change made on another silo reaches this one when the entry ages out. A load that raced with
/// an invalidation is returned to its caller but not kept, so an invalidated entry never comes back stale.
/// </summary>
public sealed class WebhookSubscriptionCache(IWebhookStore store, WebhookOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);

    public async ValueTask<IReadOnlyList<WebhookSubscription>> GetAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(instanceId, out var entry) && time.GetElapsedTime(entry.LoadedAt, now) < options.SubscriptionCacheTime)
        {
            return entry.Subscriptions;
        }

        var generation = _generations.GetValueOrDefault(instanceId);
        var subscriptions = await store.ListAsync(instanceId, cancellationToken);
        if (_generations.GetValueOrDefault(instanceId) == generation)
        {
            _entries[instanceId] = new Entry(subscriptions, now);
        }

        return subscriptions;
    }

    /// <summary>Forgets what is known of the instance's subscriptions; the next event reads them again.</summary>
    public void Invalidate(string instanceId)
    {
        _generations.AddOrUpdate(instanceId, 1, (_, generation) => generation + 1);
        _entries.TryRemove(instanceId, out _);
    }

    private sealed record Entry(IReadOnlyList<WebhookSubscription> Subscriptions, long LoadedAt);
}
