using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;
using Messengers.Data.Sqlite;

namespace Messengers.Data.Tests.Messages;

public sealed class SqliteMessageStoreTests : MessageStoreContract, IAsyncLifetime
{
    private ScratchSqliteDatabase? _scratch;
    private SqliteMessageStore? _store;

    protected override IMessageStore Store => _store!;

    private SqliteDatabase Database => _scratch!.Database;

    public async ValueTask InitializeAsync()
    {
        _scratch = new ScratchSqliteDatabase("messengers-msgstore-", Clock, Path.Combine("data", "silo.db"));
        await Database.EnsureMigratedAsync(Cancel);
        _store = new SqliteMessageStore(Database);
    }

    public ValueTask DisposeAsync() => _scratch?.DisposeAsync() ?? ValueTask.CompletedTask;

    protected override Task<string?> AppliedMigrationAsync(int version) => Task.FromResult(_scratch!.AppliedMigration(version));

    [Fact]
    public void Migrations_002Messages_CreatesUniqueKeyAndIndexes()
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name";
        using var reader = command.ExecuteReader();
        var indexes = new Dictionary<string, string?>();
        while (reader.Read())
        {
            indexes[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        Assert.Contains(indexes.Keys, k => k.StartsWith("sqlite_autoindex_messages", StringComparison.Ordinal)); // UNIQUE(instance_id, message_id)
        Assert.Contains("timestamp DESC, message_id DESC", indexes["ix_messages_chat_history"], StringComparison.Ordinal);
        Assert.Contains("WHERE published = 0", indexes["ix_messages_unpublished"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryInsert_Always_StoresFixedWidthUtcTextTimestampsAndMediaJson()
    {
        var message = Message(NewInstance(), "m1", at: new DateTimeOffset(2026, 1, 2, 5, 4, 5, TimeSpan.FromHours(2))) with
        {
            Media = new MediaRef("id1", "audio/ogg", null, 42, "ab"),
        };
        await Store.TryInsertAsync(message, Cancel);

        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT timestamp, json_extract(media, '$.media_id'), json_extract(media, '$.size'), published FROM messages WHERE instance_id = $i";
        command.Parameters.AddWithValue("$i", message.InstanceId);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal("2026-01-02T03:04:05.000000Z", reader.GetString(0));
        Assert.Equal("id1", reader.GetString(1));
        Assert.Equal(42, reader.GetInt64(2));
        Assert.Equal(0, reader.GetInt64(3));
    }

    [Fact]
    public async Task Store_DatabaseUnusable_ThrowsDatabaseException()
    {
        using (var connection = Database.OpenConnection())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "DROP TABLE messages";
            command.ExecuteNonQuery();
        }

        var error = await Assert.ThrowsAsync<DatabaseException>(() => Store.GetChatsAsync(NewInstance(), 10, 0, Cancel));
        Assert.Contains("listing chats", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DatabaseException>(() => Store.TryInsertAsync(Message(NewInstance(), "m1"), Cancel));
    }
}
