using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;
using Messengers.Testing.Fakes.S3;

namespace Messengers.Data.Tests.Messages;

/// <summary>
/// <see cref="MediaStoreContract"/> on <see cref="S3MediaStore"/> talking HTTP to a fake S3 server on 127.0.0.1 (real
/// SDK, real SigV4, real wire format), with a prefix so that keys are checked to stay under it; then what is
/// particular to S3: credentials, metadata encoding, paging on delete, the temporary-file path of large uploads.
/// </summary>
public sealed class S3MediaStoreTests : MediaStoreContract, IAsyncLifetime
{
    private const string Bucket = "media-bucket";
    private const string Prefix = "messengers/";

    private readonly List<S3MediaStore> _stores = [];
    private FakeS3Server _s3 = null!;

    public async ValueTask InitializeAsync()
    {
        _s3 = await FakeS3Server.StartAsync();
        _s3.CreateBucket(Bucket);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        await _s3.DisposeAsync();
    }

    protected override IMediaStore NewStore(long maxFileSize = FileMediaStore.DefaultMaxFileSize) => Store(maxFileSize);

    protected override Task<int> StoredItemCountAsync() => Task.FromResult(_s3.Keys(Bucket).Count);

    private S3MediaStoreOptions Options(Action<S3MediaStoreOptions>? change = null)
    {
        var options = new S3MediaStoreOptions
        {
            ServiceUrl = _s3.ServiceUrl,
            Bucket = Bucket,
            AccessKey = _s3.AccessKey,
            SecretKey = _s3.SecretKey,
            Prefix = Prefix,
        };
        change?.Invoke(options);
        return options;
    }

    private S3MediaStore Store(long maxFileSize = FileMediaStore.DefaultMaxFileSize, Action<S3MediaStoreOptions>? change = null)
    {
        var store = new S3MediaStore(Options(change), maxFileSize);
        _stores.Add(store);
        return store;
    }

    [Fact]
    public async Task S3SaveAsync_Completed_StoresOneObjectUnderPrefixInstanceAndId()
    {
        var media = await Store().SaveAsync("inst-1", new MemoryStream(Bytes(1000)), "image/png", "a.png", Cancel);

        Assert.Equal([$"{Prefix}inst-1/{media.MediaId}"], _s3.Keys(Bucket));
        var stored = _s3.Find(Bucket, $"{Prefix}inst-1/{media.MediaId}")!;
        Assert.Equal("image/png", stored.ContentType);
        Assert.Equal(media.Sha256, stored.Metadata["sha256"]);
        Assert.All(_s3.PayloadModes, mode => Assert.DoesNotContain("UNSIGNED", mode, StringComparison.Ordinal)); // plain HTTP: the body is signed
        TestContext.Current.SendDiagnosticMessage("payload modes: " + string.Join(", ", _s3.PayloadModes));
    }

    [Fact]
    public async Task S3SaveAsync_NonAsciiFileName_RoundTripsAndTravelsAsAscii()
    {
        const string name = "Отчёт 2026 — 東京 «final» 😀 100%.pdf";
        var media = await Store().SaveAsync("inst-1", new MemoryStream(Bytes(10)), "application/pdf", name, Cancel);

        var header = _s3.Find(Bucket, $"{Prefix}inst-1/{media.MediaId}")!.Metadata["file-name"];
        Assert.True(header.All(char.IsAscii), header);
        var opened = await Store().OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await opened.Value.Content.DisposeAsync();
        Assert.Equal(name, opened.Value.Media.FileName);
        Assert.Equal(media, opened.Value.Media);
    }

    [Fact]
    public async Task S3SaveAsync_VeryLongNonAsciiFileName_ShortenedToFitMetadataKeepingExtension()
    {
        var name = string.Concat(Enumerable.Repeat("Ж😀", 300)) + ".docx";

        var media = await Store().SaveAsync("inst-1", new MemoryStream(Bytes(10)), "application/msword", name, Cancel);

        Assert.NotNull(media.FileName);
        Assert.EndsWith("😀.docx", media.FileName, StringComparison.Ordinal); // whole characters: no split surrogate pair
        Assert.StartsWith(media.FileName[..^5], name, StringComparison.Ordinal);
        var opened = await Store().OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await opened.Value.Content.DisposeAsync();
        Assert.Equal(media, opened.Value.Media);
    }

    [Fact]
    public async Task S3SaveAsync_LargerThanMemoryBuffer_GoesThroughTempFileAndRoundTrips()
    {
        var store = Store(change: o => o.MemoryBufferSize = 64 * 1024);
        var content = Bytes(1_000_000);

        var media = await store.SaveAsync("inst-1", new MemoryStream(content), "video/mp4", "clip.mp4", Cancel);

        var opened = await store.OpenAsync("inst-1", media.MediaId, Cancel);
        Assert.NotNull(opened);
        await using var stream = opened.Value.Content;
        Assert.Equal(content, await ReadAllAsync(stream));
    }

    [Fact]
    public async Task S3SaveAsync_OverLimitAfterSpillingToTempFile_ThrowsAndLeavesNothingVisible()
    {
        var store = Store(maxFileSize: 200_000, change: o => o.MemoryBufferSize = 64 * 1024);
        var requestsBefore = _s3.PayloadModes.Count;

        await Assert.ThrowsAsync<MediaTooLargeException>(() => store.SaveAsync("inst-1", new MemoryStream(Bytes(200_001)), "video/mp4", "big.mp4", Cancel));

        Assert.Empty(_s3.Keys(Bucket));
        Assert.Equal(requestsBefore, _s3.PayloadModes.Count); // refused before anything was sent
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "messengers-s3-*.tmp"));
    }

    [Fact]
    public async Task S3Store_WrongAccessKey_FailsClearlyNamingTheSettings()
    {
        var store = Store(change: o => o.AccessKey = "not-the-key");

        var error = await Assert.ThrowsAsync<MediaStoreException>(() => store.SaveAsync("inst-1", new MemoryStream(Bytes(10)), "text/plain", null, Cancel));

        Assert.Contains("InvalidAccessKeyId", error.Message, StringComparison.Ordinal);
        Assert.Contains("Messengers:Media:S3:AccessKey", error.Message, StringComparison.Ordinal);
        Assert.Empty(_s3.Keys(Bucket));
    }

    [Fact]
    public async Task S3Store_WrongSecretKey_FailsWithSignatureMismatchAndNeverShowsTheSecret()
    {
        var store = Store(change: o => o.SecretKey = "wrong-secret-value");

        var error = await Assert.ThrowsAsync<MediaStoreException>(() => store.OpenAsync("inst-1", "AAAAAAAAAAAAAAAAAAAAAA", Cancel));

        Assert.Contains("SignatureDoesNotMatch", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-value", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task S3Store_MissingBucket_FailsNamingTheBucketSetting()
    {
        var store = Store(change: o => o.Bucket = "no-such-bucket");

        var error = await Assert.ThrowsAsync<MediaStoreException>(() => store.SaveAsync("inst-1", new MemoryStream(Bytes(10)), "text/plain", null, Cancel));

        Assert.Contains("Messengers:Media:S3:Bucket", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(S3MediaStoreOptions.ServiceUrl))]
    [InlineData(nameof(S3MediaStoreOptions.Bucket))]
    [InlineData(nameof(S3MediaStoreOptions.AccessKey))]
    [InlineData(nameof(S3MediaStoreOptions.SecretKey))]
    public void S3Options_MissingField_ValidationNamesIt(string field)
    {
        var options = Options();
        typeof(S3MediaStoreOptions).GetProperty(field)!.SetValue(options, " ");

        var error = Assert.Throws<InvalidOperationException>(options.Validate);

        Assert.Contains($"Messengers:Media:S3:{field}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void S3Options_ToString_LeavesTheSecretOut()
        => Assert.DoesNotContain(_s3.SecretKey, Options().ToString(), StringComparison.Ordinal);

    [Theory]
    [InlineData(1000, 2_150)]
    [InlineData(70, 1_050)]
    public async Task S3DeleteInstanceAsync_ManyObjectsOverSeveralPages_DeletesThemAllAndNothingElse(int pageSize, int count)
    {
        _s3.MaxKeysLimit = pageSize;
        for (var i = 0; i < count; i++)
        {
            _s3.Put(Bucket, $"{Prefix}inst-1/m{i:D5}", [1]);
        }

        var kept = await Store().SaveAsync("inst-10", new MemoryStream(Bytes(10)), "text/plain", null, Cancel); // shares the "inst-1" string prefix
        _s3.Put(Bucket, "other/inst-1/x", [2]);

        await Store().DeleteInstanceAsync("inst-1", Cancel);

        Assert.Equal(["messengers/inst-10/" + kept.MediaId, "other/inst-1/x"], _s3.Keys(Bucket).Order(StringComparer.Ordinal));
    }

    /// <summary>The fake against the SDK's defaults (flexible checksums in aws-chunked trailers), not only our client's settings.</summary>
    [Fact]
    public async Task S3FakeServer_SdkDefaultChecksums_AcceptsStreamingUploadAndVerifiesIt()
    {
        using var client = new AmazonS3Client(new BasicAWSCredentials(_s3.AccessKey, _s3.SecretKey), new AmazonS3Config { ServiceURL = _s3.ServiceUrl, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var content = Bytes(200_000);

        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "raw/a", InputStream = new MemoryStream(content) }, Cancel);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "raw/b", InputStream = new NonSeekable(content), UseChunkEncoding = true }, Cancel);
        await client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = Bucket, Objects = [new KeyVersion { Key = "raw/b" }] }, Cancel);

        Assert.Equal(content, _s3.Find(Bucket, "raw/a")!.Data);
        Assert.Null(_s3.Find(Bucket, "raw/b"));
        Assert.Contains(_s3.PayloadModes, mode => mode.StartsWith("STREAMING-", StringComparison.Ordinal));
        TestContext.Current.SendDiagnosticMessage("payload modes: " + string.Join(", ", _s3.PayloadModes));
    }

    /// <summary>A stream without a length, as an upload from the network is.</summary>
    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
