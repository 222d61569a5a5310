using System.Net;
using Messengers.Host.Tests.Infrastructure;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// Refused and failed downloads of <c>media.url</c> answer 400/413/415/422 problems and send nothing. Embedded
/// configuration (storage plays no part), a download timeout of 10 s: short for the slow case, long enough to stream
/// 17 MiB on a loaded machine.
/// </summary>
public sealed class MediaUrlApiTests(EmbeddedHostFixture fixture) : IClassFixture<EmbeddedHostFixture>, IAsyncLifetime
{
    private MessengersFactory _factory = null!;
    private FakeMediaServer _files = null!;

    public async ValueTask InitializeAsync()
    {
        var settings = await fixture.NewBackendAsync();
        settings["Messengers:MediaDownload:Timeout"] = "00:00:25"; // a 16 MiB body must arrive within it on a loaded 2-core machine
        _factory = new MessengersFactory(settings);
        _files = await FakeMediaServer.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _files.DisposeAsync();
    }

    [Fact]
    public async Task SendMessage_MediaUrlOver16MiB_Returns413WhetherDeclaredOrOnlyStreamed()
    {
        var (owner, url, id) = await NewWebChatAsync();
        using (owner)
        {
            await (await owner.PostAsync(url, Link(_files.Url("images/big-declared.jpg")), Ct)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge, "16 MiB");
            // No Content-Length: stopped while reading, as soon as the body passes the limit.
            await (await owner.PostAsync(url, Link(_files.Url("images/big-streamed.jpg")), Ct)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge, "16 MiB");
            await AssertNothingSentAsync(owner, id);
        }
    }

    [Fact]
    public async Task SendMessage_MediaUrlServingHtml_Returns415NamingTheType()
    {
        var (owner, url, id) = await NewWebChatAsync();
        using (owner)
        {
            await (await owner.PostAsync(url, Link(_files.Url("page.html")), Ct)).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "media.url", "text/html");
            // Claiming another type does not get the page through: the server's type decides.
            await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { url = _files.Url("page.html"), mimetype = "image/png" } }), Ct)).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "text/html");
            await AssertNothingSentAsync(owner, id);
        }
    }

    [Fact]
    public async Task SendMessage_MediaUrlAnswering404_Returns422NamingTheRemoteStatus()
    {
        var (owner, url, id) = await NewWebChatAsync();
        using (owner)
        {
            var problem = await (await owner.PostAsync(url, Link(_files.Url("images/gone.png")), Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "media.url", "404");
            Assert.Contains("Media download failed", problem, StringComparison.Ordinal);
            await AssertNothingSentAsync(owner, id);
        }
    }

    [Fact]
    public async Task SendMessage_MediaUrlRedirectLoopOrTooSlow_Returns422()
    {
        var (owner, url, id) = await NewWebChatAsync();
        using (owner)
        {
            var before = _files.RequestCount;
            await (await owner.PostAsync(url, Link(_files.Url("go/loop")), Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "redirect");
            Assert.Equal(4, _files.RequestCount - before); // the request and 3 redirects, then it stops
            await (await owner.PostAsync(url, Link(_files.Url("slow.png")), Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "within 25 s");
            await AssertNothingSentAsync(owner, id);
        }
    }

    [Fact]
    public async Task SendMessage_MediaUrlNotHttpOrBesideData_Returns400NamingTheField()
    {
        var (owner, url, id) = await NewWebChatAsync();
        using (owner)
        {
            await (await owner.PostAsync(url, Link("ftp://127.0.0.1/dot.png"), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.url", "http");
            await (await owner.PostAsync(url, Link("file:///etc/passwd"), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.url", "stdio");
            await (await owner.PostAsync(url, Link("images/dot.png"), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.url", "absolute");
            await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { url = _files.Url("images/dot.png"), data = Convert.ToBase64String(FakeMediaServer.Png) } }), Ct))
                .ExpectProblemAsync(HttpStatusCode.BadRequest, "media", "not both");
            await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { filename = "a.png" } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.data", "media.url");
            // The message is checked before anything is downloaded.
            var before = _files.RequestCount;
            await (await owner.PostAsync(url, Json(new { media = new { url = _files.Url("images/dot.png") } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "chatId");
            Assert.Equal(before, _files.RequestCount);
            await AssertNothingSentAsync(owner, id);
        }
    }

    private StringContent Link(string link) => Json(new { chatId = "v1", text = "look", media = new { url = link } });

    private async Task<(HttpClient Owner, string Url, string Id)> NewWebChatAsync()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var created = await admin.CreateWebChatAsync("media url errors");
        return (HostFixture.Client(_factory, created.ApiKey), $"{Instances}/{created.Id}/messages", created.Id);
    }

    private static async Task AssertNothingSentAsync(HttpClient owner, string id)
    {
        var messages = await (await owner.GetAsync($"{Instances}/{id}/chats/v1/messages", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(messages.Items());
        Assert.Equal((0, 0), (await owner.GetInstanceAsync(id)).Counters());
    }
}
