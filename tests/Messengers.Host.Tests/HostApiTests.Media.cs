using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>Sending media through <c>POST /api/v1/instances/{id}/messages</c>, in both configurations.</summary>
public abstract partial class HostApiTests
{
    private static byte[] Png => FakeMediaServer.Png;

    [Fact]
    public async Task SendMessage_MultipartImageToWebChat_VisitorGetsMediaEventAndFile()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("media upload");
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitor = Anonymous();
        var visitorId = "media-" + Guid.NewGuid().ToString("N")[..8];
        using var events = await SseReader.OpenAsync(visitor, $"/webchat/{created.Id}/events?visitorId={visitorId}", Ct);

        using var owner = WithKey(created.ApiKey);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(visitorId), "chatId" },
            { new StringContent("a dot"), "caption" },
        };
        var file = new ByteArrayContent(Png);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "file", "dot.png");
        var sent = await (await owner.PostAsync($"{Instances}/{created.Id}/messages", form, Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("image", sent.GetProperty("type").GetString());
        Assert.Equal("a dot", sent.GetProperty("body").GetString());
        var media = sent.GetProperty("media");
        Assert.Equal("image/png", media.GetProperty("contentType").GetString());
        Assert.Equal("dot.png", media.GetProperty("fileName").GetString());
        Assert.Equal(Png.Length, media.GetProperty("size").GetInt64());

        // The visitor's page gets the message with a link to the file, and the link serves the very bytes.
        var shown = await events.NextAsync(e => e.Event == "message" && e.Data.Contains("\"media\"", StringComparison.Ordinal), EventTimeout, Ct);
        var shownMessage = JsonDocument.Parse(shown.Data).RootElement;
        Assert.Equal(sent.GetProperty("id").GetString(), shownMessage.GetProperty("messageId").GetString());
        Assert.Equal("a dot", shownMessage.GetProperty("text").GetString());
        var url = shownMessage.GetProperty("media").GetProperty("url").GetString()!;
        Assert.StartsWith($"/webchat/{created.Id}/media/", url, StringComparison.Ordinal);
        using var fetched = await visitor.GetAsync(url, Ct);
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("image/png", fetched.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", fetched.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(Png, await fetched.Content.ReadAsByteArrayAsync(Ct));

        // History (visitor and API) keeps the media; an unknown media id is a 404 problem.
        var history = await Eventually.UntilAsync(
            async () => await (await visitor.GetAsync($"/webchat/{created.Id}/history?visitorId={visitorId}", Ct)).ExpectAsync(HttpStatusCode.OK),
            h => h.Items().Any(),
            what: "the media message in the history");
        Assert.Equal(url, history.Items().Single().GetProperty("media").GetProperty("url").GetString());
        var listed = await (await owner.GetAsync($"{Instances}/{created.Id}/chats/{visitorId}/messages", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(media.GetProperty("id").GetString(), listed.Items().Single().GetProperty("media").GetProperty("id").GetString());
        await (await visitor.GetAsync($"/webchat/{created.Id}/media/AAAAAAAAAAAAAAAAAAAAAA", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "media");
    }

    [Fact]
    public async Task SendMessage_Base64DocumentWithClientId_StoredOnceWithMedia()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("media base64");
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var owner = WithKey(created.ApiKey);
        var url = $"{Instances}/{created.Id}/messages";
        var pdf = "%PDF-1.4 tiny"u8.ToArray();
        var body = new { chatId = "doc-reader", clientMessageId = "send-1", media = new { data = Convert.ToBase64String(pdf), filename = "report.pdf" } };

        // No mimetype: the file name's extension tells it.
        var first = await (await owner.PostAsync(url, Json(body), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("document", first.GetProperty("type").GetString());
        Assert.Equal("", first.GetProperty("body").GetString());
        Assert.Equal("application/pdf", first.GetProperty("media").GetProperty("contentType").GetString());

        // The same client id sends once: the second answer is the first message.
        var again = await (await owner.PostAsync(url, Json(body), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        var listed = await (await owner.GetAsync($"{Instances}/{created.Id}/chats/doc-reader/messages", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(first.GetProperty("id").GetString(), listed.Items().Single().GetProperty("id").GetString());

        // A data: URL carries its own type.
        var dataUrl = await (await owner.PostAsync(url, Json(new { chatId = "doc-reader", text = "see", media = new { data = "data:image/png;base64," + Convert.ToBase64String(Png) } }), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("image", dataUrl.GetProperty("type").GetString());
        Assert.Equal("image/png", dataUrl.GetProperty("media").GetProperty("contentType").GetString());
    }

    [Fact]
    public async Task SendMessage_InvalidMedia_Returns4xxProblemNamingIt()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("media validation");
        using var owner = WithKey(created.ApiKey);
        var url = $"{Instances}/{created.Id}/messages";
        await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { data = "not base64!", mimetype = "image/png" } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.data", "base64");
        await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { mimetype = "image/png" } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.data");
        await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { data = Convert.ToBase64String(Png) } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.mimetype", "required");
        await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { data = Convert.ToBase64String("<script>"u8), mimetype = "text/html" } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "text/html");
        await (await owner.PostAsync(url, Json(new { chatId = "v1", media = new { data = Convert.ToBase64String(Png), mimetype = "png" } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media type");
        await (await owner.PostAsync(url, Json("""{"chatId":"v1","media":{"url":"ftp://example.com/a.png"}}"""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "media.url", "http");
        await (await owner.PostAsync(url, Json("""{"chatId":"v1","media":{"caption":"x"}}"""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "caption");
        await (await owner.PostAsync(url, new StringContent("chatId=v1&text=hi", System.Text.Encoding.UTF8, "text/plain"), Ct)).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "Unsupported");

        using (var unknownField = new MultipartFormDataContent { { new StringContent("v1"), "chatId" }, { new StringContent("x"), "priority" } })
        {
            await (await owner.PostAsync(url, unknownField, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "priority");
        }

        using (var empty = new MultipartFormDataContent { { new StringContent("v1"), "chatId" }, { new ByteArrayContent([]), "file", "empty.png" } })
        {
            await (await owner.PostAsync(url, empty, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "empty");
        }

        using (var tooLarge = new MultipartFormDataContent { { new StringContent("v1"), "chatId" } })
        {
            var big = new ByteArrayContent(new byte[(16 * 1024 * 1024) + 1]);
            big.Headers.ContentType = new MediaTypeHeaderValue("video/mp4");
            tooLarge.Add(big, "file", "big.mp4");
            await (await owner.PostAsync(url, tooLarge, Ct)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge, "16 MiB");
        }

        Assert.Equal((0, 0), (await owner.GetInstanceAsync(created.Id)).Counters());
    }

    [Fact]
    public async Task OpenApi_SendMessageRoute_DocumentsJsonAndMultipartBodiesAndMediaErrors()
    {
        using var anonymous = Anonymous();
        var document = await (await anonymous.GetAsync("/openapi/v1.json", Ct)).ExpectAsync(HttpStatusCode.OK);
        var send = document.GetProperty("paths").GetProperty("/api/v1/instances/{id}/messages").GetProperty("post");
        var bodies = send.GetProperty("requestBody").GetProperty("content");
        Assert.True(bodies.TryGetProperty("application/json", out _));
        Assert.True(bodies.TryGetProperty("multipart/form-data", out _));
        Assert.Contains("base64", send.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("Messengers:MediaDownload:AllowPrivateAddresses", send.GetProperty("description").GetString(), StringComparison.Ordinal);
        var responses = send.GetProperty("responses");
        Assert.All(new[] { "201", "400", "413", "415", "422" }, code => Assert.True(responses.TryGetProperty(code, out _), $"response {code} documented"));
    }
}
