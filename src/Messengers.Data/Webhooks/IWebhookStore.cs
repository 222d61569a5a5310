namespace Messengers.Data.Webhooks;

/// <summary>
/// Webhook subscriptions and their durable outbox (sql/*/003_webhooks.sql). Secrets and header values are encrypted
/// at rest; callers see them in clear. Every method is safe to call from several silos at once.
/// </summary>
public interface IWebhookStore
{
    Task CreateAsync(WebhookSubscription subscription, CancellationToken cancellationToken = default);

    Task<WebhookSubscription?> GetAsync(string instanceId, string subscriptionId, CancellationToken cancellationToken = default);

    /// <summary>The instance's subscriptions, oldest first.</summary>
    Task<IReadOnlyList<WebhookSubscription>> ListAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Applies <paramref name="patch"/>; null when there is no such subscription.</summary>
    Task<WebhookSubscription?> UpdateAsync(string instanceId, string subscriptionId, WebhookSubscriptionPatch patch, CancellationToken cancellationToken = default);

    /// <summary>Deletes the subscription and its outbox rows; false when there was none.</summary>
    Task<bool> DeleteAsync(string instanceId, string subscriptionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds outbox rows (pending, due now) in list order. A row whose (subscription, event id) exists already is skipped,
    /// and so is a row of a subscription deleted meanwhile (the writer may hold a list a few seconds old). Returns how
    /// many rows were added.
    /// </summary>
    Task<int> EnqueueAsync(IReadOnlyList<WebhookOutboxEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>
    /// For each enabled subscription (or only <paramref name="subscriptionId"/>) the oldest open row (pending or failed)
    /// when it is due at <paramref name="now"/>; earliest due first. A later row of a subscription is never returned
    /// while an earlier one is open.
    /// </summary>
    Task<IReadOnlyList<DueWebhookDelivery>> GetDueAsync(DateTimeOffset now, int limit, string? subscriptionId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a due row for delivery: moves its next attempt to <paramref name="leaseUntil"/> when it is still open and
    /// still due at <paramref name="seenNextAttemptAt"/>. False when another silo took it first.
    /// </summary>
    Task<bool> TryLeaseAsync(long deliveryId, DateTimeOffset seenNextAttemptAt, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default);

    Task MarkDeliveredAsync(long deliveryId, int statusCode, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Records a failed attempt: <paramref name="status"/> is failed (with its next attempt) or dead.</summary>
    Task MarkFailedAsync(long deliveryId, string status, int attempts, int? statusCode, string error, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default);

    /// <summary>The subscription's rows, newest first, optionally of one status.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string instanceId, string subscriptionId, string? status, int limit, CancellationToken cancellationToken = default);

    Task<WebhookDelivery?> GetDeliveryAsync(string instanceId, string subscriptionId, long deliveryId, CancellationToken cancellationToken = default);

    /// <summary>Deletes delivered and dead rows created before <paramref name="createdBefore"/>; returns how many.</summary>
    Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default);

    /// <summary>Puts a row back to pending, due at <paramref name="now"/>, attempts reset; null when there is no such row.</summary>
    Task<WebhookDelivery?> RedeliverAsync(string instanceId, string subscriptionId, long deliveryId, DateTimeOffset now, CancellationToken cancellationToken = default);
}
