using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Messengers.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// Media in a cluster: two hosts on one PostgreSQL database and one Redis form one Orleans cluster, each with its own
/// data folder as on two machines. A file uploaded through one silo must be served by the other, whole and by range.
/// </summary>
public sealed class MediaClusterTests(ProductionHostFixture fixture) : IClassFixture<ProductionHostFixture>, IAsyncDisposable
{
    private readonly List<MessengersFactory> _hosts = [];
    private readonly List<DirectoryInfo> _folders = [];

    [Fact]
    public async Task Media_UploadedThroughOneSilo_ServedWholeAndByRangeByTheOtherSilo()
    {
        var settings = await fixture.NewBackendAsync();
        settings["Messengers:EncryptionKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)); // one key for the cluster, as deployed
        var folderB = Directory.CreateTempSubdirectory("messengers-silo-b-");
        _folders.Add(folderB);
        var hostA = StartHost(settings, "silo-a");
        var hostB = StartHost(new Dictionary<string, string?>(settings) { ["Messengers:DataPath"] = folderB.FullName }, "silo-b");
        using var adminA = HostFixture.Client(hostA, HostFixture.AdminKey);
        var cluster = await hostB.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, Ct);
        Assert.Equal(2, cluster.Count);
        var created = await adminA.CreateWebChatAsync("cluster media");
        await adminA.WaitForStatusAsync(created.Id, "Ready");

        // 2.5 MiB: three rows of the media store, so the range below crosses from the first into the second.
        var video = RandomNumberGenerator.GetBytes(5 * 512 * 1024);
        using var owner = HostFixture.Client(hostA, created.ApiKey);
        using var form = new MultipartFormDataContent { { new StringContent("cluster-visitor"), "chatId" } };
        var file = new ByteArrayContent(video);
        file.Headers.ContentType = new MediaTypeHeaderValue("video/mp4");
        form.Add(file, "file", "clip.mp4");
        var sent = await (await owner.PostAsync($"{Instances}/{created.Id}/messages", form, Ct)).ExpectAsync(HttpStatusCode.Created);
        var mediaId = sent.GetProperty("media").GetProperty("id").GetString()!;

        using var visitorB = HostFixture.Client(hostB, null);
        var url = $"/webchat/{created.Id}/media/{mediaId}";
        using (var whole = await visitorB.GetAsync(url, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal("video/mp4", whole.Content.Headers.ContentType?.MediaType);
            Assert.Equal(video, await whole.Content.ReadAsByteArrayAsync(Ct));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(1024 * 1024 - 10, 1024 * 1024 + 9);
        using var part = await visitorB.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(video[(1024 * 1024 - 10)..(1024 * 1024 + 10)], await part.Content.ReadAsByteArrayAsync(Ct));

        // In the database, not in a data folder: neither silo wrote a media file.
        Assert.False(Directory.Exists(Path.Combine(settings["Messengers:DataPath"]!, "media")));
        Assert.False(Directory.Exists(Path.Combine(folderB.FullName, "media")));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        foreach (var folder in _folders)
        {
            try
            {
                folder.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private MessengersFactory StartHost(Dictionary<string, string?> settings, string siloName)
    {
        var host = new MessengersFactory(new Dictionary<string, string?>(settings) { ["Orleans:Name"] = siloName });
        _hosts.Add(host);
        _ = host.Server;
        return host;
    }
}
