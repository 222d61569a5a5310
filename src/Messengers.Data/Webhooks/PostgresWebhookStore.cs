using Messengers.Abstractions.Security;
using Messengers.Data.Messages;
using Messengers.Data.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Data.Webhooks;

/// <summary>
/// <see cref="IWebhookStore"/> in the PostgreSQL tables of sql/postgres/003_webhooks.sql. Enqueueing is
/// <c>INSERT ... ON CONFLICT (subscription_id, event_id) DO NOTHING</c>, so a redelivered stream entry adds nothing.
/// </summary>
public sealed class PostgresWebhookStore : IWebhookStore
{
    private const string SubscriptionColumns = "id, instance_id, url, events::text, secret, headers, enabled, format, created_at";
    private const string DeliveryColumns =
        "d.id, d.event_id, d.subscription_id, d.instance_id, d.event_type, d.payload::text, d.status, d.attempts, d.next_attempt_at, " +
        "d.last_status_code, d.last_error, d.created_at, d.delivered_at";

    private const string InsertSubscriptionSql = """
        INSERT INTO webhook_subscriptions (id, instance_id, url, events, secret, headers, enabled, format, created_at)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
        """;

    private const string GetSubscriptionSql = $"SELECT {SubscriptionColumns} FROM webhook_subscriptions WHERE instance_id = $1 AND id = $2";
    private const string ListSubscriptionsSql = $"SELECT {SubscriptionColumns} FROM webhook_subscriptions WHERE instance_id = $1 ORDER BY created_at, id";

    private const string UpdateSubscriptionSql = """
        UPDATE webhook_subscriptions SET url = $3, events = $4::jsonb, headers = $5, enabled = $6, format = $7
        WHERE instance_id = $1 AND id = $2
        """;

    private const string DeleteSubscriptionSql = "DELETE FROM webhook_subscriptions WHERE instance_id = $1 AND id = $2";

    private const string EnqueueSql = """
        INSERT INTO webhook_deliveries (event_id, subscription_id, instance_id, event_type, payload, status, attempts, next_attempt_at, created_at)
        SELECT $1, $2, $3, $4, $5::json, 'pending', 0, $6, $6
        WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $2)
        ON CONFLICT (subscription_id, event_id) DO NOTHING
        """;

    private const string DueSql = $"""
        SELECT {DeliveryColumns}, s.id, s.instance_id, s.url, s.events::text, s.secret, s.headers, s.enabled, s.format, s.created_at
        FROM webhook_subscriptions s
        CROSS JOIN LATERAL (
            SELECT * FROM webhook_deliveries x
            WHERE x.subscription_id = s.id AND x.status IN {WebhookRows.OpenStatuses}
            ORDER BY x.id LIMIT 1
        ) d
        WHERE s.enabled AND d.next_attempt_at <= $1 AND ($3::text IS NULL OR s.id = $3)
        ORDER BY d.next_attempt_at, d.id
        LIMIT $2
        """;

    private const string LeaseSql = $"""
        UPDATE webhook_deliveries SET next_attempt_at = $3
        WHERE id = $1 AND next_attempt_at = $2 AND status IN {WebhookRows.OpenStatuses}
        """;

    private const string DeliveredSql = """
        UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $2, last_error = NULL, delivered_at = $3, next_attempt_at = $3
        WHERE id = $1
        """;

    private const string FailedSql = """
        UPDATE webhook_deliveries SET status = $2, attempts = $3, last_status_code = $4, last_error = $5, next_attempt_at = $6
        WHERE id = $1
        """;

    private const string ListDeliveriesSql = $"""
        SELECT {DeliveryColumns} FROM webhook_deliveries d
        WHERE d.instance_id = $1 AND d.subscription_id = $2 AND ($3::text IS NULL OR d.status = $3)
        ORDER BY d.id DESC LIMIT $4
        """;

    private const string GetDeliverySql = $"SELECT {DeliveryColumns} FROM webhook_deliveries d WHERE d.instance_id = $1 AND d.subscription_id = $2 AND d.id = $3";

    private const string RedeliverSql = $"""
        UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, next_attempt_at = $4, delivered_at = NULL
        WHERE d.instance_id = $1 AND d.subscription_id = $2 AND d.id = $3
        RETURNING {DeliveryColumns}
        """;

    private const string PurgeSql = "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'dead') AND created_at < $1";

    private readonly PostgresDatabase _database;
    private readonly PostgresStoreCommands _commands;
    private readonly ISecretProtector _protector;

    public PostgresWebhookStore(PostgresDatabase database, ISecretProtector protector)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(protector);
        _database = database;
        _commands = new PostgresStoreCommands(database);
        _protector = protector;
    }

    public async Task CreateAsync(WebhookSubscription subscription, CancellationToken cancellationToken = default)
    {
        WebhookRows.Validate(subscription);
        var createdAt = MessageRows.Normalize(subscription.CreatedAt == default ? _database.Time.GetUtcNow() : subscription.CreatedAt);
        var secret = _protector.Protect(subscription.Secret);
        var headers = WebhookRows.ProtectHeaders(_protector, subscription.Headers);
        await ExecuteAsync("creating a webhook subscription", InsertSubscriptionSql, cancellationToken,
            subscription.Id, subscription.InstanceId, subscription.Url, WebhookRows.EventsJson(subscription.Events), secret, headers,
            subscription.Enabled, subscription.Format, createdAt);
    }

    public async Task<WebhookSubscription?> GetAsync(string instanceId, string subscriptionId, CancellationToken cancellationToken = default)
    {
        var found = await QueryAsync("reading a webhook subscription", GetSubscriptionSql, r => ReadSubscription(r, 0), cancellationToken, instanceId, subscriptionId);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<WebhookSubscription>> ListAsync(string instanceId, CancellationToken cancellationToken = default)
        => QueryAsync("listing webhook subscriptions", ListSubscriptionsSql, r => ReadSubscription(r, 0), cancellationToken, instanceId);

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
        var changed = await ExecuteAsync("updating a webhook subscription", UpdateSubscriptionSql, cancellationToken,
            instanceId, subscriptionId, updated.Url, WebhookRows.EventsJson(updated.Events), WebhookRows.ProtectHeaders(_protector, updated.Headers),
            updated.Enabled, updated.Format);
        return changed == 0 ? null : updated;
    }

    public async Task<bool> DeleteAsync(string instanceId, string subscriptionId, CancellationToken cancellationToken = default)
        => await ExecuteAsync("deleting a webhook subscription", DeleteSubscriptionSql, cancellationToken, instanceId, subscriptionId) > 0;

    public async Task<int> EnqueueAsync(IReadOnlyList<WebhookOutboxEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return 0;
        }

        var now = MessageRows.Normalize(_database.Time.GetUtcNow());
        await _database.EnsureMigratedAsync(cancellationToken);
        return await _database.RunAsync("enqueueing webhook events", async (connection, _, ct) =>
        {
            // One transaction keeps the outbox order of this batch; ON CONFLICT makes a retry after a lost connection harmless.
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var added = 0;
            foreach (var entry in entries)
            {
                await using var command = new NpgsqlCommand(EnqueueSql, connection, transaction);
                Add(command, entry.EventId);
                Add(command, entry.SubscriptionId);
                Add(command, entry.InstanceId);
                Add(command, entry.EventType);
                Add(command, entry.Payload);
                Add(command, now);
                added += await command.ExecuteNonQueryAsync(ct);
            }

            await transaction.CommitAsync(ct);
            return added;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<DueWebhookDelivery>> GetDueAsync(DateTimeOffset now, int limit, string? subscriptionId = null, CancellationToken cancellationToken = default)
        => QueryAsync("reading due webhook deliveries", DueSql, r => new DueWebhookDelivery(ReadDelivery(r), ReadSubscription(r, 13)), cancellationToken,
            MessageRows.Normalize(now), Math.Clamp(limit, 1, WebhookRows.MaxLimit), new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)subscriptionId ?? DBNull.Value });

    public async Task<bool> TryLeaseAsync(long deliveryId, DateTimeOffset seenNextAttemptAt, DateTimeOffset leaseUntil, CancellationToken cancellationToken = default)
        => await ExecuteAsync("leasing a webhook delivery", LeaseSql, cancellationToken, deliveryId, MessageRows.Normalize(seenNextAttemptAt), MessageRows.Normalize(leaseUntil)) == 1;

    public Task MarkDeliveredAsync(long deliveryId, int statusCode, DateTimeOffset at, CancellationToken cancellationToken = default)
        => ExecuteAsync("recording a webhook delivery", DeliveredSql, cancellationToken, deliveryId, statusCode, MessageRows.Normalize(at));

    public Task MarkFailedAsync(long deliveryId, string status, int attempts, int? statusCode, string error, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default)
        => ExecuteAsync("recording a failed webhook delivery", FailedSql, cancellationToken,
            deliveryId, status, attempts, new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = (object?)statusCode ?? DBNull.Value }, error, MessageRows.Normalize(nextAttemptAt));

    public Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string instanceId, string subscriptionId, string? status, int limit, CancellationToken cancellationToken = default)
        => QueryAsync("listing webhook deliveries", ListDeliveriesSql, ReadDelivery, cancellationToken,
            instanceId, subscriptionId, new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)status ?? DBNull.Value }, Math.Clamp(limit, 1, WebhookRows.MaxLimit));

    public async Task<WebhookDelivery?> GetDeliveryAsync(string instanceId, string subscriptionId, long deliveryId, CancellationToken cancellationToken = default)
    {
        var found = await QueryAsync("reading a webhook delivery", GetDeliverySql, ReadDelivery, cancellationToken, instanceId, subscriptionId, deliveryId);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<WebhookDelivery?> RedeliverAsync(string instanceId, string subscriptionId, long deliveryId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var found = await QueryAsync("redelivering a webhook event", RedeliverSql, ReadDelivery, cancellationToken, instanceId, subscriptionId, deliveryId, MessageRows.Normalize(now));
        return found.Count == 0 ? null : found[0];
    }

    public Task<int> PurgeAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
        => ExecuteAsync("purging old webhook deliveries", PurgeSql, cancellationToken, MessageRows.Normalize(createdBefore));

    private WebhookSubscription ReadSubscription(NpgsqlDataReader reader, int first) => new()
    {
        Id = reader.GetString(first),
        InstanceId = reader.GetString(first + 1),
        Url = reader.GetString(first + 2),
        Events = WebhookRows.ParseEvents(reader.GetString(first + 3)),
        Secret = _protector.Unprotect(reader.GetString(first + 4)),
        Headers = WebhookRows.UnprotectHeaders(_protector, reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5)),
        Enabled = reader.GetBoolean(first + 6),
        Format = reader.GetString(first + 7),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(first + 8),
    };

    private static WebhookDelivery ReadDelivery(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetInt64(0),
        EventId = reader.GetString(1),
        SubscriptionId = reader.GetString(2),
        InstanceId = reader.GetString(3),
        EventType = reader.GetString(4),
        Payload = reader.GetString(5),
        Status = reader.GetString(6),
        Attempts = reader.GetInt32(7),
        NextAttemptAt = reader.GetFieldValue<DateTimeOffset>(8),
        LastStatusCode = reader.IsDBNull(9) ? null : reader.GetInt32(9),
        LastError = reader.IsDBNull(10) ? null : reader.GetString(10),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(11),
        DeliveredAt = reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12),
    };

    private Task<int> ExecuteAsync(string operation, string sql, CancellationToken cancellationToken, params object?[] values)
        => _commands.ExecuteAsync(operation, sql, cancellationToken, values);

    private Task<IReadOnlyList<T>> QueryAsync<T>(string operation, string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
        => _commands.QueryAsync(operation, sql, read, cancellationToken, values);

    private static void Add(NpgsqlCommand command, object? value) => PostgresStoreCommands.Add(command, value);
}
