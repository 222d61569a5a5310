using System.Security.Cryptography;
using System.Text;
using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;

namespace Messengers.Data.Tests.Messages;

public sealed class FileMediaStoreTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-media-");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public void Dispose() => _folder.Delete(recursive: true);

    private FileMediaStore NewStore(long maxFileSize = FileMediaStore.DefaultMaxFileSize) => new(_folder.FullName, maxFileSize);

    private static MemoryStream Bytes(int count)
    {
        var data = new byte[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = (byte)(i * 31 % 251);
        }

        return new MemoryStream(data);
    }

    private string[] AllFiles() => Directory.GetFiles(_folder.FullName, "*", SearchOption.AllDirectories);

    [Fact]
    public async Task SaveAsync_ThenOpen_RoundTripsBytesAndMetadata()
    {
        var store = NewStore();
        using var content = Bytes(300_000);
        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(content.ToArray()));

        var media = await store.SaveAsync("inst-1", content, "image/jpeg", "фото.jpg", Cancel);

        Assert.Equal(new MediaRef(media.MediaId, "image/jpeg", "фото.jpg", 300_000, expectedHash), media);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", media.MediaId);
        Assert.True(File.Exists(Path.Combine(_folder.FullName, "media", "inst-1", media.MediaId)));

        var opened = await NewStore().OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using (var stream = opened.Value.Content)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Cancel);
            Assert.Equal(content.ToArray(), copy.ToArray());
        }

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
        await store.SaveAsync("inst-1", Bytes(10), "application/octet-stream", null, Cancel);
        Assert.Null(await store.OpenAsync("inst-1", "unknownid", Cancel));
        Assert.Null(await store.OpenAsync("inst-1", "../inst-2/x", Cancel));
        Assert.Null(await store.OpenAsync("inst-1", "", Cancel));
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
    public async Task SaveAsync_UnsafeInstanceId_ThrowsArgumentExceptionAndWritesNothing(string instanceId)
    {
        var store = NewStore();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveAsync(instanceId, Bytes(10), "text/plain", null, Cancel));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.OpenAsync(instanceId, "abc", Cancel));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.DeleteInstanceAsync(instanceId, Cancel));
        Assert.Empty(AllFiles());
    }

    [Fact]
    public async Task SaveAsync_LargerThanLimit_ThrowsMediaTooLargeAndLeavesNoFiles()
    {
        var store = NewStore(maxFileSize: 1000);
        var error = await Assert.ThrowsAsync<MediaTooLargeException>(() => store.SaveAsync("inst-1", Bytes(1001), "video/mp4", "big.mp4", Cancel));
        Assert.Equal(1000, error.MaxFileSize);
        Assert.Contains("1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Empty(AllFiles());

        var exact = await store.SaveAsync("inst-1", Bytes(1000), "video/mp4", "ok.mp4", Cancel);
        Assert.Equal(1000, exact.Size);
    }

    [Fact]
    public async Task SaveAsync_Completed_LeavesOnlyDataAndSidecarNoTempFiles()
    {
        var store = NewStore();
        var media = await store.SaveAsync("inst-1", Bytes(5000), "image/png", "a.png", Cancel);
        var names = AllFiles().Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal([media.MediaId, media.MediaId + ".json"], names);
    }

    [Fact]
    public async Task SaveAsync_StreamFailsMidway_LeavesNoFiles()
    {
        var store = NewStore();
        await Assert.ThrowsAsync<IOException>(() => store.SaveAsync("inst-1", new FailingStream(), "image/png", null, Cancel));
        Assert.Empty(AllFiles());
    }

    [Fact]
    public async Task DeleteInstanceAsync_WithFiles_RemovesOnlyThatInstance()
    {
        var store = NewStore();
        var gone = await store.SaveAsync("inst-1", Bytes(10), "text/plain", null, Cancel);
        var kept = await store.SaveAsync("inst-2", Bytes(10), "text/plain", null, Cancel);

        await store.DeleteInstanceAsync("inst-1", Cancel);
        await store.DeleteInstanceAsync("never-used", Cancel);

        Assert.Null(await store.OpenAsync("inst-1", gone.MediaId, Cancel));
        var opened = await store.OpenAsync("inst-2", kept.MediaId, Cancel);
        Assert.NotNull(opened);
        await opened.Value.Content.DisposeAsync();
    }

    /// <summary>Yields some bytes, then fails like a dropped upload.</summary>
    private sealed class FailingStream : Stream
    {
        private int _reads;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reads++ > 2)
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
