using System.Net;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>Sending media by URL (<c>media.url</c>) through <c>POST /api/v1/instances/{id}/messages</c>, in both configurations.</summary>
public abstract partial class HostApiTests
{
    [Fact]
    public async Task SendMessage_MediaUrlOnLoopbackServer_VisitorGetsDownloadedFile()
    {
        await using var files = await FakeMediaServer.StartAsync();
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("media by url");
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitor = Anonymous();
        var visitorId = "link-" + Guid.NewGuid().ToString("N")[..8];
        using var events = await SseReader.OpenAsync(visitor, $"/webchat/{created.Id}/events?visitorId={visitorId}", Ct);
        using var owner = WithKey(created.ApiKey);
        var url = $"{Instances}/{created.Id}/messages";

        // Through a redirect: type from the server, name from the final URL.
        var sent = await (await owner.PostAsync(url, Json(new { chatId = visitorId, text = "from a link", media = new { url = files.Url("go/dot") } }), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("image", sent.GetProperty("type").GetString());
        Assert.Equal("from a link", sent.GetProperty("body").GetString());
        var media = sent.GetProperty("media");
        Assert.Equal(("image/png", "dot.png", (long)FakeMediaServer.Png.Length), (media.GetProperty("contentType").GetString(), media.GetProperty("fileName").GetString(), media.GetProperty("size").GetInt64()));

        var shown = await events.NextAsync(e => e.Event == "message" && e.Data.Contains("\"media\"", StringComparison.Ordinal), EventTimeout, Ct);
        var shownMessage = JsonDocument.Parse(shown.Data).RootElement;
        Assert.Equal(sent.GetProperty("id").GetString(), shownMessage.GetProperty("messageId").GetString());
        using var fetched = await visitor.GetAsync(shownMessage.GetProperty("media").GetProperty("url").GetString(), Ct);
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("image/png", fetched.Content.Headers.ContentType?.MediaType);
        Assert.Equal(FakeMediaServer.Png, await fetched.Content.ReadAsByteArrayAsync(Ct));

        // Served as octet-stream: the link's extension tells the type; a given file name wins over the link's.
        var document = await (await owner.PostAsync(url, Json(new { chatId = visitorId, media = new { url = files.Url("files/report.pdf"), filename = "q3.pdf" } }), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("document", document.GetProperty("type").GetString());
        Assert.Equal(("application/pdf", "q3.pdf", (long)FakeMediaServer.Pdf.Length), (document.GetProperty("media").GetProperty("contentType").GetString(), document.GetProperty("media").GetProperty("fileName").GetString(), document.GetProperty("media").GetProperty("size").GetInt64()));
        var listed = await Eventually.UntilAsync(
            async () => await (await owner.GetAsync($"{Instances}/{created.Id}/chats/{visitorId}/messages", Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() == 2,
            what: "both media messages stored");
        Assert.Equal(["application/pdf", "image/png"], listed.Items().Select(m => m.GetProperty("media").GetProperty("contentType").GetString()));
    }
}
