using Messengers.Data.Sqlite;
using Messengers.Data.Webhooks;

namespace Messengers.Data.Tests.Webhooks;

public sealed class SqliteWebhookStoreTests : WebhookStoreContract, IAsyncLifetime
{
    private ScratchSqliteDatabase? _scratch;
    private SqliteWebhookStore? _store;

    protected override IWebhookStore Store => _store!;

    private SqliteDatabase Database => _scratch!.Database;

    public async ValueTask InitializeAsync()
    {
        _scratch = new ScratchSqliteDatabase("messengers-webhooks-", Clock);
        await Database.EnsureMigratedAsync(Cancel);
        _store = new SqliteWebhookStore(Database, Protector);
    }

    public ValueTask DisposeAsync() => _scratch?.DisposeAsync() ?? ValueTask.CompletedTask;

    protected override Task<string?> AppliedMigrationAsync(int version) => Task.FromResult(_scratch!.AppliedMigration(version));

    protected override Task<(string Secret, string? Headers)> RawSecretColumnsAsync(string subscriptionId)
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT secret, headers FROM webhook_subscriptions WHERE id = $id";
        command.Parameters.AddWithValue("$id", subscriptionId);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return Task.FromResult((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
    }

    [Fact]
    public void Migrations_003Webhooks_CreatesUniqueEventKeyAndQueueIndexes()
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_deliveries'";
        using var reader = command.ExecuteReader();
        var indexes = new Dictionary<string, string?>();
        while (reader.Read())
        {
            indexes[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        Assert.Contains(indexes.Keys, k => k.StartsWith("sqlite_autoindex_webhook_deliveries", StringComparison.Ordinal));
        Assert.Contains("WHERE status IN ('pending', 'failed')", indexes["ix_webhook_deliveries_queue"], StringComparison.Ordinal);
        Assert.Contains("(next_attempt_at)", indexes["ix_webhook_deliveries_due"], StringComparison.Ordinal);
    }
}
