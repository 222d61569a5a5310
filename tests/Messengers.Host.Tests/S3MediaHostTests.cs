using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing.Fakes.S3;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// A host with <c>Messengers:Media:S3</c> configured keeps media in the bucket, whatever its database (here the embedded
/// SQLite one, which would otherwise use the data folder), and serves it back whole and by range.
/// </summary>
public sealed class S3MediaHostTests(EmbeddedHostFixture fixture) : IClassFixture<EmbeddedHostFixture>, IAsyncLifetime
{
    private const string Bucket = "messengers-media";

    private readonly List<MessengersFactory> _hosts = [];
    private FakeS3Server _s3 = null!;

    public async ValueTask InitializeAsync()
    {
        _s3 = await FakeS3Server.StartAsync();
        _s3.CreateBucket(Bucket);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _s3.DisposeAsync();
    }

    [Fact]
    public async Task S3Media_UploadedThroughApi_StoredInBucketAndServedWholeAndByRange()
    {
        var settings = await fixture.NewBackendAsync();
        settings["Messengers:Media:S3:ServiceUrl"] = _s3.ServiceUrl;
        settings["Messengers:Media:S3:Bucket"] = Bucket;
        settings["Messengers:Media:S3:AccessKey"] = _s3.AccessKey;
        settings["Messengers:Media:S3:SecretKey"] = _s3.SecretKey;
        settings["Messengers:Media:S3:Prefix"] = "prod/";
        var host = new MessengersFactory(settings);
        _hosts.Add(host);
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var created = await admin.CreateWebChatAsync("s3 media");
        await admin.WaitForStatusAsync(created.Id, "Ready");

        var video = RandomNumberGenerator.GetBytes(300_000);
        using var owner = HostFixture.Client(host, created.ApiKey);
        using var form = new MultipartFormDataContent { { new StringContent("s3-visitor"), "chatId" } };
        var file = new ByteArrayContent(video);
        file.Headers.ContentType = new MediaTypeHeaderValue("video/mp4");
        form.Add(file, "file", "видео.mp4");
        var sent = await (await owner.PostAsync($"{Instances}/{created.Id}/messages", form, Ct)).ExpectAsync(HttpStatusCode.Created);
        var media = sent.GetProperty("media");
        var mediaId = media.GetProperty("id").GetString()!;
        Assert.Equal("видео.mp4", media.GetProperty("fileName").GetString());

        Assert.Equal(video, _s3.Find(Bucket, $"prod/{created.Id}/{mediaId}")?.Data);
        Assert.False(Directory.Exists(Path.Combine(host.DataPath, "media")));

        using var visitor = HostFixture.Client(host, null);
        var url = $"/webchat/{created.Id}/media/{mediaId}";
        using (var whole = await visitor.GetAsync(url, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal("video/mp4", whole.Content.Headers.ContentType?.MediaType);
            Assert.Equal(video, await whole.Content.ReadAsByteArrayAsync(Ct));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(150_000, 150_099);
        using var part = await visitor.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(video[150_000..150_100], await part.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task S3Media_SectionWithoutSecretKey_HostRefusesToStartNamingIt()
    {
        var settings = await fixture.NewBackendAsync();
        settings["Messengers:Media:S3:ServiceUrl"] = _s3.ServiceUrl;
        settings["Messengers:Media:S3:Bucket"] = Bucket;
        settings["Messengers:Media:S3:AccessKey"] = _s3.AccessKey;
        var host = new MessengersFactory(settings);
        _hosts.Add(host);

        var error = Assert.ThrowsAny<Exception>(() => host.Server);

        Assert.Contains("Messengers:Media:S3:SecretKey is not set", error.ToString(), StringComparison.Ordinal);
    }
}
