using Messengers.Abstractions.Security;
using Messengers.Data.Messages;
using Messengers.Data.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.Webhooks;

/// <summary>
/// <see cref="IWebhookStore"/> in the SQLite tables of sql/sqlite/003_webhooks.sql. Reads use pooled reader
/// connections; every change goes through the database's single writer. Enqueueing is
/// <c>INSERT ... ON CONFLICT (subscription_id, event_id) DO NOTHING</c>.
/// </summary>
public sealed class SqliteWebhookStore : IWebhookStore
{
    private const string SubscriptionColumns = "id, instance_id, url, events, secret, headers, enabled, format, created_at";
    private const string DeliveryColumns =
        "d.id, d.event_id, d.subscription_id, d.instance_id, d.event_type, d.payload, d.status, d.attempts, d.next_attempt_at, " +
        "d.last_status_code, d.last_error, d.created_at, d.delivered_at";

    private const string InsertSubscriptionSql = """
        INSERT INTO webhook_subscriptions (id, instance_id, url, events, secret, headers, enabled, format, created_at)
        VALUES ($id, $instance, $url, $events, $secret, $headers, $enabled, $format, $createdAt)
        """;

    private const string GetSubscriptionSql = $"SELECT {SubscriptionColumns} FROM webhook_subscriptions WHERE instance_id = $instance AND id = $id";
    private const string ListSubscriptionsSql = $"SELECT {SubscriptionColumns} FROM webhook_subscriptions WHERE instance_id = $instance ORDER BY created_at, id";

    private const string UpdateSubscriptionSql = """
        UPDATE webhook_subscriptions SET url = $url, events = $events, headers = $headers, enabled = $enabled, format = $format
        WHERE instance_id = $instance AND id = $id
        """;

    private const string DeleteDeliveriesSql = "DELETE FROM webhook_deliveries WHERE instance_id = $instance AND subscription_id = $id";
    private const string DeleteSubscriptionSql = "DELETE FROM webhook_subscriptions WHERE instance_id = $instance AND id = $id";

    private const string EnqueueSql = """
        INSERT INTO webhook_deliveries (event_id, subscription_id, instance_id, event_type, payload, status, attempts, next_attempt_at, created_at)
        SELECT $event, $subscription, $instance, $type, $payload, 'pending', 0, $now, $now
        WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $subscription)
        ON CONFLICT (subscription_id, event_id) DO NOTHING
        """;

    private const string DueSql = $"""
        SELECT {DeliveryColumns}, s.id, s.instance_id, s.url, s.events, s.secret, s.headers, s.enabled, s.format, s.created_at
        FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE s.enabled = 1 AND d.status IN {WebhookRows.OpenStatuses} AND d.next_attempt_at <= $now
          AND ($subscription IS NULL OR s.id = $subscription)
          AND d.id = (SELECT min(x.id) FROM webhook_deliveries x WHERE x.subscription_id = d.subscription_id AND x.status IN {WebhookRows.OpenStatuses})
        ORDER BY d.next_attempt_at, d.id
        LIMIT $limit
        """;

    private const string LeaseSql = $"""
        UPDATE webhook_deliveries SET next_attempt_at = $lease
        WHERE id = $id AND next_attempt_at = $seen AND status IN {WebhookRows.OpenStatuses}
        """;

    private const string DeliveredSql = """
        UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $code, last_error = NULL, delivered_at = $at, next_attempt_at = $at
        WHERE id = $id
        """;

    private const string FailedSql = """
        UPDATE webhook_deliveries SET status = $status, attempts = $attempts, last_status_code = $code, last_error = $error, next_attempt_at = $next
        WHERE id = $id
        """;

    private const string ListDeliveriesSql = $"""
        SELECT {DeliveryColumns} FROM webhook_deliveries d
        WHERE d.instance_id = $instance AND d.subscription_id = $subscription AND ($status IS NULL OR d.status = $status)
        ORDER BY d.id DESC LIMIT $limit
        """;

    private const string GetDeliverySql = $"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE d.instance_id = $instance AND d.subscription_id = $subscription AND d.id = $id";

    private const string RedeliverSql = """
        UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $now, delivered_at = NULL
        WHERE instance_id = $instance AND subscription_id = $subscription AND id = $id
        """;

    private const string PurgeSql = "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'dead') AND created_at < $before";

    private readonly SqliteDatabase _database;
    private readonly SqliteStoreCommands _commands;
    private readonly ISecretProtector _protector;

    public SqliteWebhookStore(SqliteDatabase database, ISecretProtector protector)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(protector);
        _database = database;
        _commands = new SqliteStoreCommands(database);
        _protector = protector;
    }

    public Task CreateAsync(WebhookSubscription subscription, CancellationToken cancellationToken = default)
    {
        WebhookRows.Validate(subscription);
        var createdAt = MessageRows.ToSqliteTime(subscription.CreatedAt == default ? _database.Time.GetUtcNow() : subscription.CreatedAt);
        var secret = _protector.Protect(subscription.Secret);
        var headers = WebhookRows.ProtectHeaders(_protector, subscription.Headers);
        var events = WebhookRows.EventsJson(subscription.Events);
        return WriteAsync("creating a webhook subscription", context =>
        {
            var command = context.Command(InsertSubscriptionSql);
            Add(command, "$id", subscription.Id);
            Add(command, "$instance", subscription.InstanceId);
            Add(command, "$url", subscription.Url);
            Add(command, "$events", events);
            Add(command, "$secret", secret);
            Add(command, "$headers", headers);
            Add(command, "$enabled", subscription.Enabled);
            Add(command, "$format", subscription.Format);
            Add(command, "$createdAt", createdAt);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public async Task<WebhookSubscription?> GetAsync(string instanceId, string subscriptionId, CancellationToken cancellationToken = default)
    {
        var found = await QueryAsync("reading a webhook subscription", GetSubscriptionSql, r => ReadSubscription(r, 0), cancellationToken,
            ("$instance", instanceId), ("$id", subscriptionId));
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<WebhookSubscription>> ListAsync(string instanceId, CancellationToken cancellationToken = default)
        => QueryAsync("listing webhook subscriptions", ListSubscriptionsSql, r => ReadSubscription(r, 0), cancellationToken, ("$instance", instanceId));

    public async Task<WebhookSubscription?> UpdateAsync(string instanceId, string subscriptionId, WebhookSubscriptionPatch patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var current = await GetAsync(instanceId, subscriptionId, cancellationToken);
        if (current is null)
        {
            return null;
        }

        var updated = WebhookRows.Apply(current, patch);
        WebhookRows.Validate(updated);
        var events = WebhookRows.EventsJson(updated.Events);
        var headers = WebhookRows.ProtectHeaders(_protector, updated.Headers);
        var changed = await WriteAsync("updating a webhook subscription", context =>
        {
            var command = context.Command(UpdateSubscriptionSql);
            Add(command, "$instance", instanceId);
            Add(command, "$id", subscriptionId);
            Add(command, "$url", updated.Url);
            Add(command, "$events", events);
            Add(command, "$headers", headers);
            Add(command, "$enabled", updated.Enabled);
            Add(command, "$format", updated.Format);
            return command.ExecuteNonQuery();
        }, cancellationToken);
        return changed == 0 ? null : updated;
    }

    public async Task<bool> DeleteAsync(string instanceId, string subscriptionId, CancellationToken cancellationToken = default)
        => await WriteAsync("deleting a webhook subscription", context =>
        {
            var deliveries = context.Command(DeleteDeliveriesSql);
            Add(deliveries, "$instance", instanceId);
            Add(deliveries, "$id", subscriptionId);
            deliveries.ExecuteNonQuery();
            var command = context.Command(DeleteSubscriptionSql);
            Add(command, "$instance", instanceId);
            Add(command, "$id", subscriptionId);
            return command.ExecuteNonQuery();
        }, cancellationToken) > 0;

    public Task<int> EnqueueAsync(IReadOnlyList<WebhookOutboxEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return Task.FromResult(0);
        }

        var now = MessageRows.ToSqliteTime(_database.Time.GetUtcNow());
        return WriteAsync("enqueueing webhook events", context =>
        {
            var added = 0;
            foreach (var entry in entries)
            {
                var command = context.Command(EnqueueSql);
                Add(command, "$event", entry.EventId);
                Add(command, "$subscription", entry.SubscriptionId);
                Add(command, "$instance", entry.InstanceId);
                Add(command, "$type", entry.EventType);
                Add(command, "$payload", entry.Payload);
                Add(command, "$now", now);
                added += command.ExecuteNonQuery();
            }

            return added;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<DueWebhookDelivery>> GetDueAsync(DateTimeOffset now, int limit, string? subscriptionId = null, CancellationToken cancellationToken = default)
        => QueryAsync("reading due webhook deliveries", DueSql, r => new DueWebhookDelivery(ReadDelivery(r), ReadSubscription(r, 13)), cancellationToken,
            ("$now", MessageRows.ToSqliteTime(now)), ("$limit", Math.Clamp(limit, 1, WebhookRows.MaxLimit)), ("$subscription", subscriptionId));

    public async Task<bool> TryLeaseAsync(long deliveryId, DateTimeOffset seenNextAttemptAt, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
    {
        var seen = MessageRows.ToSqliteTime(seenNextAttemptAt);
        var lease = MessageRows.ToSqliteTime(leaseUntil);
        return await WriteAsync("leasing a webhook delivery", context =>
        {
            var command = context.Command(LeaseSql);
            Add(command, "$id", deliveryId);
            Add(command, "$seen", seen);
            Add(command, "$lease", lease);
            return command.ExecuteNonQuery();
        }, cancellationToken) == 1;
    }

    public Task MarkDeliveredAsync(long deliveryId, int statusCode, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var when = MessageRows.ToSqliteTime(at);
        return WriteAsync("recording a webhook delivery", context =>
        {
            var command = context.Command(DeliveredSql);
            Add(command, "$id", deliveryId);
            Add(command, "$code", statusCode);
            Add(command, "$at", when);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task MarkFailedAsync(long deliveryId, string status, int attempts, int? statusCode, string error, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default)
    {
        var next = MessageRows.ToSqliteTime(nextAttemptAt);
        return WriteAsync("recording a failed webhook delivery", context =>
        {
            var command = context.Command(FailedSql);
            Add(command, "$id", deliveryId);
            Add(command, "$status", status);
            Add(command, "$attempts", attempts);
            Add(command, "$code", statusCode);
            Add(command, "$error", error);
            Add(command, "$next", next);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string instanceId, string subscriptionId, string? status, int limit, CancellationToken cancellationToken = default)
        => QueryAsync("listing webhook deliveries", ListDeliveriesSql, ReadDelivery, cancellationToken,
            ("$instance", instanceId), ("$subscription", subscriptionId), ("$status", status), ("$limit", Math.Clamp(limit, 1, WebhookRows.MaxLimit)));

    public async Task<WebhookDelivery?> GetDeliveryAsync(string instanceId, string subscriptionId, long deliveryId, CancellationToken cancellationToken = default)
    {
        var found = await QueryAsync("reading a webhook delivery", GetDeliverySql, ReadDelivery, cancellationToken,
            ("$instance", instanceId), ("$subscription", subscriptionId), ("$id", deliveryId));
        return found.Count == 0 ? null : found[0];
    }

    public async Task<WebhookDelivery?> RedeliverAsync(string instanceId, string subscriptionId, long deliveryId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var when = MessageRows.ToSqliteTime(now);
        var changed = await WriteAsync("redelivering a webhook event", context =>
        {
            var command = context.Command(RedeliverSql);
            Add(command, "$instance", instanceId);
            Add(command, "$subscription", subscriptionId);
            Add(command, "$id", deliveryId);
            Add(command, "$now", when);
            return command.ExecuteNonQuery();
        }, cancellationToken);
        return changed == 0 ? null : await GetDeliveryAsync(instanceId, subscriptionId, deliveryId, cancellationToken);
    }

    public Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        var before = MessageRows.ToSqliteTime(createdBefore);
        return WriteAsync("purging old webhook deliveries", context =>
        {
            var command = context.Command(PurgeSql);
            Add(command, "$before", before);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    private WebhookSubscription ReadSubscription(SqliteDataReader reader, int first) => new()
    {
        Id = reader.GetString(first),
        InstanceId = reader.GetString(first + 1),
        Url = reader.GetString(first + 2),
        Events = WebhookRows.ParseEvents(reader.GetString(first + 3)),
        Secret = _protector.Unprotect(reader.GetString(first + 4)),
        Headers = WebhookRows.UnprotectHeaders(_protector, reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5)),
        Enabled = reader.GetInt64(first + 6) != 0,
        Format = reader.GetString(first + 7),
        CreatedAt = MessageRows.FromSqliteTime(reader.GetString(first + 8)),
    };

    private static WebhookDelivery ReadDelivery(SqliteDataReader reader) => new()
    {
        Id = reader.GetInt64(0),
        EventId = reader.GetString(1),
        SubscriptionId = reader.GetString(2),
        InstanceId = reader.GetString(3),
        EventType = reader.GetString(4),
        Payload = reader.GetString(5),
        Status = reader.GetString(6),
        Attempts = reader.GetInt32(7),
        NextAttemptAt = MessageRows.FromSqliteTime(reader.GetString(8)),
        LastStatusCode = reader.IsDBNull(9) ? null : reader.GetInt32(9),
        LastError = reader.IsDBNull(10) ? null : reader.GetString(10),
        CreatedAt = MessageRows.FromSqliteTime(reader.GetString(11)),
        DeliveredAt = reader.IsDBNull(12) ? null : MessageRows.FromSqliteTime(reader.GetString(12)),
    };

    private Task<T> WriteAsync<T>(string operation, Func<SqliteWriteContext, T> work, CancellationToken cancellationToken)
        => _commands.WriteAsync(operation, work, cancellationToken);

    private Task<IReadOnlyList<T>> QueryAsync<T>(string operation, string sql, Func<SqliteDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        => _commands.QueryAsync(operation, sql, read, cancellationToken, parameters);

    private static void Add(SqliteCommand command, string name, object? value) => SqliteStoreCommands.Add(command, name, value);
}
