using System.Security.Cryptography;
using System.Text;
using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;

namespace Messengers.Data.Tests.Messages;

/// <summary>
/// The behaviour every <see cref="IMediaStore"/> must show (files in the data folder, PostgreSQL). A store's test class
/// supplies stores on one fresh storage: each <see cref="NewStore"/> is another store on the same storage, as a
/// restarted process or another silo would open it.
/// </summary>
public abstract class MediaStoreContract
{
    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>A new store on this test's storage (for PostgreSQL: its own connection pool, like a second silo).</summary>
    protected abstract IMediaStore NewStore(long maxFileSize = FileMediaStore.DefaultMaxFileSize);

    /// <summary>Everything the storage holds, complete or not (files, temp files, rows): 0 means nothing was left behind.</summary>
    protected abstract Task<int> StoredItemCountAsync();

    protected static byte[] Bytes(int count)
    {
        var data = new byte[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = (byte)(i * 31 % 251);
        }

        return data;
    }

    protected static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Cancel);
        return copy.ToArray();
    }

    [Fact]
    public async Task SaveAsync_ThenOpenThroughAnotherStore_RoundTripsBytesAndMetadata()
    {
        var content = Bytes(300_000);
        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(content));

        var media = await NewStore().SaveAsync("inst-1", new MemoryStream(content), "image/jpeg", "фото.jpg", Cancel);

        Assert.Equal(new MediaRef(media.MediaId, "image/jpeg", "фото.jpg", 300_000, expectedHash), media);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", media.MediaId);
        var opened = await NewStore().OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using (var stream = opened.Value.Content)
        {
            Assert.True(stream.CanSeek); // range requests of video and audio players need it
            Assert.Equal(300_000, stream.Length);
            Assert.Equal(content, await ReadAllAsync(stream));
        }

        Assert.Equal(media, opened.Value.Media);
    }

    [Fact]
    public async Task OpenAsync_SeekIntoTheMiddle_ReadsTheRestFromThere()
    {
        var store = NewStore();
        var content = Bytes(300_000);
        var media = await store.SaveAsync("inst-1", new MemoryStream(content), "video/mp4", "clip.mp4", Cancel);

        var opened = await store.OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using var stream = opened.Value.Content;
        stream.Seek(150_001, SeekOrigin.Begin);
        Assert.Equal(content[150_001..], await ReadAllAsync(stream));

        stream.Position = 10;
        var head = new byte[5];
        Assert.Equal(5, await stream.ReadAsync(head, Cancel));
        Assert.Equal(content[10..15], head);
        stream.Seek(-3, SeekOrigin.End);
        Assert.Equal(content[^3..], await ReadAllAsync(stream));
    }

    [Fact]
    public async Task SaveAsync_EmptyContent_OpensAsEmptyFile()
    {
        var store = NewStore();
        var media = await store.SaveAsync("inst-1", new MemoryStream(), "text/plain", "empty.txt", Cancel);

        Assert.Equal(0, media.Size);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData([])), media.Sha256);
        var opened = await store.OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using var stream = opened.Value.Content;
        Assert.Empty(await ReadAllAsync(stream));
        Assert.Equal(media, opened.Value.Media);
    }

    [Fact]
    public async Task SaveAsync_TwoFiles_GetDistinctIds()
    {
        var store = NewStore();
        var first = await store.SaveAsync("inst-1", new MemoryStream(Encoding.UTF8.GetBytes("a")), "text/plain", null, Cancel);
        var second = await store.SaveAsync("inst-1", new MemoryStream(Encoding.UTF8.GetBytes("a")), "text/plain", null, Cancel);
        Assert.NotEqual(first.MediaId, second.MediaId);
        Assert.Null(first.FileName);
    }

    [Fact]
    public async Task OpenAsync_UnknownOrMalformedId_ReturnsNull()
    {
        var store = NewStore();
        Assert.Null(await store.OpenAsync("inst-1", "unknownid", Cancel));
        var saved = await store.SaveAsync("inst-1", new MemoryStream(Bytes(10)), "application/octet-stream", null, Cancel);
        Assert.Null(await store.OpenAsync("inst-1", "unknownid", Cancel));
        Assert.Null(await store.OpenAsync("inst-1", "../inst-2/x", Cancel));
        Assert.Null(await store.OpenAsync("inst-1", "", Cancel));
        Assert.Null(await store.OpenAsync("inst-2", saved.MediaId, Cancel)); // another instance's id is not found
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("../etc")]
    [InlineData("")]
    [InlineData("with space")]
    [InlineData("/abs")]
    public async Task SaveAsync_UnsafeInstanceId_ThrowsArgumentExceptionAndStoresNothing(string instanceId)
    {
        var store = NewStore();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveAsync(instanceId, new MemoryStream(Bytes(10)), "text/plain", null, Cancel));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.OpenAsync(instanceId, "abc", Cancel));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.DeleteInstanceAsync(instanceId, Cancel));
        Assert.Equal(0, await StoredItemCountAsync());
    }

    [Fact]
    public async Task SaveAsync_LargerThanLimit_ThrowsMediaTooLargeAndStoresNothing()
    {
        var store = NewStore(maxFileSize: 1000);
        var error = await Assert.ThrowsAsync<MediaTooLargeException>(() => store.SaveAsync("inst-1", new MemoryStream(Bytes(1001)), "video/mp4", "big.mp4", Cancel));
        Assert.Equal(1000, error.MaxFileSize);
        Assert.Contains("1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await StoredItemCountAsync());

        var exact = await store.SaveAsync("inst-1", new MemoryStream(Bytes(1000)), "video/mp4", "ok.mp4", Cancel);
        Assert.Equal(1000, exact.Size);
    }

    [Fact]
    public async Task SaveAsync_StreamFailsMidway_ThrowsAndStoresNothing()
    {
        var store = NewStore();
        await Assert.ThrowsAsync<IOException>(() => store.SaveAsync("inst-1", new FailingStream(), "image/png", null, Cancel));
        Assert.Equal(0, await StoredItemCountAsync());
    }

    [Fact]
    public async Task DeleteInstanceAsync_WithFiles_RemovesOnlyThatInstance()
    {
        var store = NewStore();
        var gone = await store.SaveAsync("inst-1", new MemoryStream(Bytes(10)), "text/plain", null, Cancel);
        var kept = await store.SaveAsync("inst-2", new MemoryStream(Bytes(10)), "text/plain", null, Cancel);

        await store.DeleteInstanceAsync("inst-1", Cancel);
        await store.DeleteInstanceAsync("never-used", Cancel);

        Assert.Null(await store.OpenAsync("inst-1", gone.MediaId, Cancel));
        var opened = await NewStore().OpenAsync("inst-2", kept.MediaId, Cancel);
        Assert.NotNull(opened);
        await opened.Value.Content.DisposeAsync();
    }

    /// <summary>Yields some bytes, then fails like a dropped upload.</summary>
    protected sealed class FailingStream : Stream
    {
        private int _reads;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reads++ > 9) // 10,000 bytes first: more than a chunk of the PostgreSQL store under test
            {
                throw new IOException("connection reset");
            }

            Array.Fill(buffer, (byte)7, offset, Math.Min(count, 1000));
            return Math.Min(count, 1000);
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
