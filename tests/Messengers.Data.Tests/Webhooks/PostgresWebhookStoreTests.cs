using Messengers.Data.Postgres;
using Messengers.Data.Webhooks;
using Messengers.Testing;
using Npgsql;

namespace Messengers.Data.Tests.Webhooks;

[Collection(PostgresCollection.Name)]
public sealed class PostgresWebhookStoreTests(PostgresServer server) : WebhookStoreContract, IAsyncLifetime
{
    private PostgresDatabase? _database;
    private PostgresWebhookStore? _store;

    protected override IWebhookStore Store => _store!;

    public async ValueTask InitializeAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync("webhooks"), Clock);
        await _database.EnsureMigratedAsync(Cancel);
        _store = new PostgresWebhookStore(_database, Protector);
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override async Task<string?> AppliedMigrationAsync(int version)
    {
        await using var command = _database!.DataSource.CreateCommand("SELECT name FROM schema_migrations WHERE version = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        return (string?)await command.ExecuteScalarAsync(Cancel);
    }

    protected override async Task<(string Secret, string? Headers)> RawSecretColumnsAsync(string subscriptionId)
    {
        await using var command = _database!.DataSource.CreateCommand("SELECT secret, headers FROM webhook_subscriptions WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = subscriptionId });
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel));
        return (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    [Fact]
    public async Task Migrations_003Webhooks_CreatesUniqueEventKeyAndQueueIndexes()
    {
        await using var command = _database!.DataSource.CreateCommand("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'webhook_deliveries'");
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var indexes = new Dictionary<string, string>();
        while (await reader.ReadAsync(Cancel))
        {
            indexes[reader.GetString(0)] = reader.GetString(1);
        }

        Assert.Contains(indexes.Values, i => i.Contains("UNIQUE", StringComparison.Ordinal) && i.Contains("(subscription_id, event_id)", StringComparison.Ordinal));
        Assert.Contains("(subscription_id, id) WHERE", indexes["ix_webhook_deliveries_queue"], StringComparison.Ordinal);
        Assert.Contains("(next_attempt_at) WHERE", indexes["ix_webhook_deliveries_due"], StringComparison.Ordinal);
    }
}
