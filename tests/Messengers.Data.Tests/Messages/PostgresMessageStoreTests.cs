using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;
using Messengers.Data.Postgres;
using Messengers.Testing;
using Npgsql;

namespace Messengers.Data.Tests.Messages;

[Collection(PostgresCollection.Name)]
public sealed class PostgresMessageStoreTests(PostgresServer server) : MessageStoreContract, IAsyncLifetime
{
    private PostgresDatabase? _database;
    private PostgresMessageStore? _store;

    protected override IMessageStore Store => _store!;

    public async ValueTask InitializeAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync("messages"), Clock);
        await _database.EnsureMigratedAsync(Cancel);
        _store = new PostgresMessageStore(_database);
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

    [Fact]
    public async Task Migrations_002Messages_CreatesUniqueKeyAndIndexes()
    {
        await using var command = _database!.DataSource.CreateCommand("SELECT indexdef FROM pg_indexes WHERE tablename = 'messages' ORDER BY indexname");
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var indexes = new List<string>();
        while (await reader.ReadAsync(Cancel))
        {
            indexes.Add(reader.GetString(0));
        }

        Assert.Contains(indexes, i => i.Contains("UNIQUE", StringComparison.Ordinal) && i.Contains("(instance_id, message_id)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("(instance_id, chat_id, \"timestamp\" DESC, message_id DESC)", StringComparison.Ordinal));
        Assert.DoesNotContain(indexes, i => i.Contains("published", StringComparison.Ordinal)); // 006 moved the outbox out of this table
    }

    [Fact]
    public async Task Migrations_006MessageOutbox_KeepsUnpublishedRowsInItsOwnTable()
    {
        var instance = NewInstance();
        await Store.TryInsertAsync(Message(instance, "m1"), Cancel);
        await Store.TryInsertAsync(Message(instance, "m2"), Cancel);
        await Store.MarkPublishedAsync([new MessageKey(instance, "m1")], Cancel);

        await using var command = _database!.DataSource.CreateCommand(
            "SELECT message_id FROM message_outbox WHERE instance_id = $1 ORDER BY id");
        command.Parameters.Add(new NpgsqlParameter { Value = instance });
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var queued = new List<string>();
        while (await reader.ReadAsync(Cancel))
        {
            queued.Add(reader.GetString(0));
        }

        Assert.Equal(["m2"], queued);
        await reader.DisposeAsync();
        await Store.DeleteInstanceAsync(instance, Cancel);
        Assert.DoesNotContain(await Store.GetUnpublishedAsync(500, Cancel), m => m.InstanceId == instance);
    }

    [Fact]
    public async Task TryInsert_WithMedia_StoresJsonbWithSnakeCaseKeysAndUnpublished()
    {
        var message = Message(NewInstance(), "m1") with { Media = new MediaRef("id1", "audio/ogg", null, 42, "ab") };
        await Store.TryInsertAsync(message, Cancel);

        await using var command = _database!.DataSource.CreateCommand(
            """
            SELECT media->>'media_id', media->>'content_type', media->'file_name', (media->>'size')::bigint, media->>'sha256',
                   EXISTS (SELECT 1 FROM message_outbox o WHERE o.instance_id = m.instance_id AND o.message_id = m.message_id), jsonb_typeof(media)
            FROM messages m WHERE instance_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = message.InstanceId });
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel));
        Assert.Equal("id1", reader.GetString(0));
        Assert.Equal("audio/ogg", reader.GetString(1));
        Assert.Equal("null", reader.GetString(2));
        Assert.Equal(42, reader.GetInt64(3));
        Assert.Equal("ab", reader.GetString(4));
        Assert.True(reader.GetBoolean(5)); // waiting in the outbox until published
        Assert.Equal("object", reader.GetString(6));
    }

    [Fact]
    public async Task Store_ServerUnreachable_ThrowsDatabaseExceptionWithoutPassword()
    {
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = FreePort(), Username = "postgres", Password = "s3cret-pw", Database = "nowhere", Timeout = 2,
        }.ToString();
        await using var unreachable = new PostgresDatabase(connectionString);
        var store = new PostgresMessageStore(unreachable);

        var error = await Assert.ThrowsAsync<DatabaseException>(() => store.TryInsertAsync(Message(NewInstance(), "m1"), Cancel));
        Assert.Contains("PostgreSQL unreachable", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryInsert_BodyPostgresRejects_ThrowsDatabaseException()
    {
        // text cannot hold U+0000: the statement is rejected, which must surface as a storage error.
        var error = await Assert.ThrowsAsync<DatabaseException>(() => Store.TryInsertAsync(Message(NewInstance(), "m1") with { Body = "nul \0 inside" }, Cancel));
        Assert.Contains("inserting a message", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryInsert_AfterServerRestart_RetriesOnFreshConnectionAndStillDedupes()
    {
        var instance = NewInstance();
        Assert.True(await Store.TryInsertAsync(Message(instance, "before"), Cancel)); // leaves a pooled connection behind

        await server.RestartAsync(); // the pooled connection is dead now

        Assert.True(await Store.TryInsertAsync(Message(instance, "after"), Cancel));
        Assert.False(await Store.TryInsertAsync(Message(instance, "before"), Cancel));
        Assert.Equal(2, await Store.CountAsync(instance, Cancel));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
