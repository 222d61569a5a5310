using System.Security.Cryptography;
using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;
using Messengers.Data.Postgres;
using Messengers.Testing;
using Npgsql;

namespace Messengers.Data.Tests.Messages;

/// <summary>
/// <see cref="MediaStoreContract"/> on PostgreSQL, with chunks of 4 KiB so that the contract's files span many rows; each
/// store has its own <see cref="PostgresDatabase"/> (connection pool) on the test's database, as each silo of a
/// cluster does. Then what sharing needs: one silo's media read by another, nothing visible before its commit.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMediaStoreTests(PostgresServer server) : MediaStoreContract, IAsyncLifetime
{
    private const int SmallChunks = 4096;

    private readonly List<PostgresDatabase> _silos = [];
    private string _connectionString = "";

    public async ValueTask InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("media");
        await Silo().EnsureMigratedAsync(Cancel);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
    }

    protected override IMediaStore NewStore(long maxFileSize = FileMediaStore.DefaultMaxFileSize)
        => new PostgresMediaStore(Silo(), maxFileSize, SmallChunks);

    protected override async Task<int> StoredItemCountAsync()
        => (int)await ScalarAsync<long>("SELECT (SELECT count(*) FROM media) + (SELECT count(*) FROM media_chunks)");

    /// <summary>The database as one more silo sees it: its own pool.</summary>
    private PostgresDatabase Silo()
    {
        var silo = new PostgresDatabase(_connectionString);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>A query on a connection of its own, outside every store's pool and transaction.</summary>
    private async Task<T> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(_connectionString + ";Pooling=false");
        await connection.OpenAsync(Cancel);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return (T)(await command.ExecuteScalarAsync(Cancel))!;
    }

    [Fact]
    public async Task SaveAsync_OnSiloOne_ReadAndDeletedThroughSiloTwo()
    {
        var siloOne = new PostgresMediaStore(Silo());
        var siloTwo = new PostgresMediaStore(Silo());
        var content = Bytes((int)(2.5 * PostgresMediaStore.DefaultChunkSize));

        var media = await siloOne.SaveAsync("inst-1", new MemoryStream(content), "video/mp4", "clip.mp4", Cancel);

        Assert.Equal(3L, await ScalarAsync<long>("SELECT count(*) FROM media_chunks WHERE media_id = $1", media.MediaId)); // 1 MiB rows
        var opened = await siloTwo.OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using (var stream = opened.Value.Content)
        {
            Assert.Equal(content, await ReadAllAsync(stream));
        }

        Assert.Equal(new MediaRef(media.MediaId, "video/mp4", "clip.mp4", content.Length, Convert.ToHexStringLower(SHA256.HashData(content))), opened.Value.Media);

        await siloTwo.DeleteInstanceAsync("inst-1", Cancel);
        Assert.Null(await siloOne.OpenAsync("inst-1", media.MediaId, Cancel));
        Assert.Equal(0, await StoredItemCountAsync()); // the chunks went with their file
    }

    [Fact]
    public async Task SaveAsync_InProgress_InvisibleToOtherSilosUntilComplete()
    {
        var store = new PostgresMediaStore(Silo(), chunkSize: SmallChunks);
        var upload = new GatedStream(before: 5 * SmallChunks, after: 1000);

        var saving = store.SaveAsync("inst-1", upload, "image/png", "slow.png", Cancel);
        await upload.Paused.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        // Five chunks are written by now, inside the save's transaction: no other connection sees any of them.
        Assert.Equal(0, await StoredItemCountAsync());
        upload.Release.SetResult();
        var media = await saving;

        Assert.Equal(5 * SmallChunks + 1000, media.Size);
        Assert.Equal(7, await StoredItemCountAsync()); // the file's row and its six chunks
        var opened = await new PostgresMediaStore(Silo()).OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using var stream = opened.Value.Content;
        Assert.Equal(media.Size, (await ReadAllAsync(stream)).Length);
    }

    [Fact]
    public async Task SaveAsync_ServerRestartedMidUpload_ThrowsDatabaseExceptionAndStoresNothing()
    {
        var store = new PostgresMediaStore(Silo(), chunkSize: SmallChunks);
        var upload = new GatedStream(before: 2 * SmallChunks, after: 3 * SmallChunks);

        var saving = store.SaveAsync("inst-1", upload, "image/png", null, Cancel);
        await upload.Paused.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        await server.RestartAsync(); // the save's connection and its open transaction are gone
        upload.Release.SetResult();

        // The upload was read in part and cannot be read again: no retry, no half file.
        var error = await Assert.ThrowsAsync<DatabaseException>(() => saving);
        Assert.Contains("nothing was stored", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await StoredItemCountAsync());

        var after = await store.SaveAsync("inst-1", new MemoryStream(Bytes(100)), "image/png", null, Cancel); // the pool recovered
        Assert.Equal(100, after.Size);
    }

    [Fact]
    public async Task OpenAsync_InstanceDeletedWhileReading_ThrowsIOExceptionRatherThanEndingEarly()
    {
        var store = new PostgresMediaStore(Silo(), chunkSize: SmallChunks);
        var media = await store.SaveAsync("inst-1", new MemoryStream(Bytes(5 * SmallChunks)), "audio/ogg", null, Cancel);
        var opened = await store.OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using var stream = opened.Value.Content;
        var buffer = new byte[SmallChunks];
        Assert.Equal(SmallChunks, await stream.ReadAsync(buffer, Cancel)); // the first chunk came with the metadata

        await new PostgresMediaStore(Silo()).DeleteInstanceAsync("inst-1", Cancel);

        await Assert.ThrowsAsync<IOException>(async () => await stream.ReadExactlyAsync(buffer, Cancel));
    }

    [Fact]
    public async Task Migrate_013Media_RecordedWithChunksStoredUncompressed()
    {
        Assert.Equal("media", await ScalarAsync<string>("SELECT name FROM schema_migrations WHERE version = 13"));
        // 'e' (EXTERNAL): out of line without pglz, which gains nothing on JPEG, MP4 or OGG.
        Assert.Equal('e', await ScalarAsync<char>("SELECT attstorage FROM pg_attribute WHERE attrelid = 'media_chunks'::regclass AND attname = 'data'"));
    }

    [Fact]
    public async Task SaveAsync_ServerUnreachable_ThrowsDatabaseExceptionWithoutPassword()
    {
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = FreePort(), Username = "postgres", Password = "s3cret-pw", Database = "nowhere", Timeout = 2,
        }.ToString();
        await using var unreachable = new PostgresDatabase(connectionString);
        var store = new PostgresMediaStore(unreachable);

        var error = await Assert.ThrowsAsync<DatabaseException>(() => store.SaveAsync("inst-1", new MemoryStream(Bytes(10)), "text/plain", null, Cancel));
        Assert.Contains("PostgreSQL unreachable", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", error.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>An upload that delivers <c>before</c> bytes, then waits for <see cref="Release"/>, then <c>after</c> more.</summary>
    private sealed class GatedStream(int before, int after) : Stream
    {
        private int _delivered;

        public TaskCompletionSource Paused { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_delivered == before)
            {
                Paused.TrySetResult();
                await Release.Task.WaitAsync(cancellationToken);
            }

            var limit = _delivered < before ? before : before + after;
            var count = Math.Min(buffer.Length, limit - _delivered);
            buffer.Span[..count].Fill(42);
            _delivered += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
