using System.Text.Json;
using Messengers.Testing.Fakes;
using Microsoft.AspNetCore.Http;

namespace Messengers.Agents.Tests;

public sealed class HttpBotBackendTests : IAsyncLifetime
{
    private readonly List<JsonElement> _events = [];
    private Func<HttpContext, Task> _respond = _ => Task.CompletedTask;
    private LoopbackHttpServer _bot = null!;
    private AgentHarness _harness = null!;

    public async ValueTask InitializeAsync()
    {
        _bot = await LoopbackHttpServer.StartAsync(async context =>
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            lock (_events)
            {
                _events.Add(doc.RootElement.Clone());
            }

            await _respond(context);
        });
        _harness = AgentHarness.Create();
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.DisposeAsync();
        await _bot.DisposeAsync();
    }

    private AgentEndpoint Endpoint => new(_bot.BaseUrl + "/hooks/bot?tenant=1") { ApiKey = "bot-key" };

    [Fact]
    public async Task Run_ReplyObject_ReturnsReplyAndPostsDocumentedEvent()
    {
        _respond = c => c.Response.WriteAsJsonAsync(new { reply = "bot says hi" });
        var request = AgentHarness.Request(
            Endpoint,
            text: "hi bot",
            attachments: [new AgentAttachment("a.txt", "text/plain", "abc"u8.ToArray())],
            history: [new AgentHistoryTurn(AgentRole.Assistant, "earlier")]) with { MessageId = "m-42" };

        var reply = await _harness.Http.RunAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal("bot says hi", reply.Text);
        var e = Assert.Single(_events);
        Assert.Equal("message", e.GetProperty("event").GetString());
        Assert.Equal("inst-1", e.GetProperty("instanceId").GetString());
        Assert.Equal("79001234567@c.us", e.GetProperty("chatId").GetString());
        Assert.Equal("m-42", e.GetProperty("messageId").GetString());
        Assert.Equal(request.SessionId, e.GetProperty("sessionId").GetString());
        Assert.Equal("company-7", e.GetProperty("userId").GetString());
        Assert.Equal("hi bot", e.GetProperty("text").GetString());
        var attachment = Assert.Single(e.GetProperty("attachments").EnumerateArray());
        Assert.Equal("document", attachment.GetProperty("type").GetString());
        Assert.Equal("a.txt", attachment.GetProperty("fileName").GetString());
        Assert.Equal("text/plain", attachment.GetProperty("contentType").GetString());
        Assert.Equal(3, attachment.GetProperty("size").GetInt64());
        Assert.Equal("YWJj", attachment.GetProperty("base64").GetString());
        Assert.Equal(JsonValueKind.Null, attachment.GetProperty("omitted").ValueKind);
        var turn = Assert.Single(e.GetProperty("history").EnumerateArray());
        Assert.Equal(("assistant", "earlier"), (turn.GetProperty("role").GetString(), turn.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Run_MediaOverSizeLimit_DescribedWithoutBytes()
    {
        await using var harness = AgentHarness.Create(o => o.MaxAttachmentBytes = 4);
        _respond = c => c.Response.WriteAsJsonAsync(new { reply = "ok" });
        byte[] small = [1, 2, 3, 4];
        var request = AgentHarness.Request(
            Endpoint,
            attachments: [new AgentAttachment("photo.jpg", "image/jpeg", small) { MediaId = "m1" }, new AgentAttachment("clip.mp4", "video/mp4", new byte[5]) { MediaId = "m2" }])
            with { OmittedMedia = [new AgentOmittedMedia("gone.ogg", "audio/ogg", 900, "the file is no longer stored") { MediaId = "m3" }] };

        await harness.Http.RunAsync(request, TestContext.Current.CancellationToken);

        var media = Assert.Single(_events).GetProperty("attachments").EnumerateArray()
            .Select(a => (
                Type: a.GetProperty("type").GetString(),
                Name: a.GetProperty("fileName").GetString(),
                Size: a.GetProperty("size").GetInt64(),
                Base64: a.GetProperty("base64").ValueKind == JsonValueKind.Null ? null : a.GetProperty("base64").GetString(),
                MediaId: a.GetProperty("mediaId").GetString(),
                Omitted: a.GetProperty("omitted").ValueKind == JsonValueKind.Null ? null : a.GetProperty("omitted").GetString()))
            .ToArray();
        Assert.Equal(
            [
                ("image", "photo.jpg", 4L, Convert.ToBase64String(small), "m1", null),
                ("audio", "gone.ogg", 900L, null, "m3", "the file is no longer stored"),
                ("video", "clip.mp4", 5L, null, "m2", "larger than the 4 B limit"),
            ],
            media);
    }

    [Fact]
    public async Task Run_PlainTextBody_ReturnsText()
    {
        _respond = async c =>
        {
            c.Response.ContentType = "text/plain; charset=utf-8";
            await c.Response.WriteAsync("plain answer");
        };

        var reply = await _harness.Http.RunAsync(AgentHarness.Request(Endpoint), TestContext.Current.CancellationToken);

        Assert.Equal("plain answer", reply.Text);
    }

    [Fact]
    public async Task Run_NoContent_ReturnsEmptyReply()
    {
        _respond = c =>
        {
            c.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        };

        var reply = await _harness.Http.RunAsync(AgentHarness.Request(Endpoint), TestContext.Current.CancellationToken);

        Assert.True(reply.IsEmpty);
    }

    [Fact]
    public async Task Run_EmptyOkBody_ReturnsEmptyReply()
    {
        var reply = await _harness.Http.RunAsync(AgentHarness.Request(Endpoint), TestContext.Current.CancellationToken);

        Assert.True(reply.IsEmpty);
        Assert.Single(_events);
    }

    [Fact]
    public async Task Run_ServerError_RetriesThenReturnsReply()
    {
        _bot.Faults.FailNext(2, 500);
        _respond = c => c.Response.WriteAsJsonAsync(new { reply = "late" });

        var reply = await _harness.Http.RunAsync(AgentHarness.Request(Endpoint), TestContext.Current.CancellationToken);

        Assert.Equal("late", reply.Text);
        Assert.Equal(3, _bot.RequestCount);
    }
}
