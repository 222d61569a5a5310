using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Messengers.Host.Tests.Infrastructure;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>The shared downloader's address guard with its production default (private addresses refused).</summary>
public sealed class MediaDownloaderTests
{
    [Fact]
    public async Task MediaDownloader_DefaultOptions_RefusesLoopbackButServesTheLocalCaller()
    {
        await using var files = await FakeMediaServer.StartAsync();
        using var downloader = new MediaDownloader(new MediaDownloadOptions(), TimeProvider.System);

        var refused = await Assert.ThrowsAsync<MediaDownloadException>(() => downloader.DownloadAsync(files.Url("images/dot.png"), localCaller: false, Ct));
        Assert.Equal(MediaDownloadFailure.BadUrl, refused.Failure);
        Assert.Contains("loopback or private network", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, files.RequestCount);
        // A name resolving to loopback is refused the same way: the check is on the resolved address.
        var byName = await Assert.ThrowsAsync<MediaDownloadException>(() => downloader.DownloadAsync($"http://localhost:{new Uri(files.BaseUrl).Port}/images/dot.png", localCaller: false, Ct));
        Assert.Equal(MediaDownloadFailure.BadUrl, byName.Failure);

        // The stdio server's user runs on this machine anyway: private addresses and files are theirs to name.
        var downloaded = await downloader.DownloadAsync(files.Url("images/dot.png"), localCaller: true, Ct);
        Assert.Equal(FakeMediaServer.Png, downloaded.Content);
        Assert.Equal(("image/png", "dot.png"), (downloaded.ContentType, downloaded.FileName));
    }

    [Theory]
    [InlineData("Timeout", "00:00:00")]
    [InlineData("MaxRedirects", "-1")]
    public void AddMediaDownloader_InvalidSetting_FailsAtStartNamingTheSection(string setting, string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{MediaDownloadOptions.Section}:{setting}"] = value })
            .Build();
        var services = new ServiceCollection();
        var failure = Assert.Throws<InvalidOperationException>(() => { services.AddMediaDownloader(configuration); });
        Assert.Contains(MediaDownloadOptions.Section, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.20.30.40", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd12:3456::1", true)]
    [InlineData("::ffff:192.168.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("100.128.0.1", false)]
    [InlineData("93.184.216.34", false)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", false)]
    public void MediaDownloader_IsPrivate_TellsInternalFromPublicAddresses(string address, bool isPrivate)
        => Assert.Equal(isPrivate, MediaDownloader.IsPrivate(IPAddress.Parse(address)));
}
