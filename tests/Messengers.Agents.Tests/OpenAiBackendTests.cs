using Messengers.Testing.Fakes.OpenAi;

namespace Messengers.Agents.Tests;

public sealed class OpenAiBackendTests : IAsyncLifetime
{
    private FakeOpenAiServer _openAi = null!;
    private AgentHarness _harness = null!;

    public async ValueTask InitializeAsync()
    {
        _openAi = await FakeOpenAiServer.StartAsync();
        _harness = AgentHarness.Create();
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.DisposeAsync();
        await _openAi.DisposeAsync();
    }

    private AgentEndpoint Endpoint(bool stream) => new(_openAi.ApiBaseUrl)
    {
        Model = "gpt-4.1-mini",
        ApiKey = "sk-test-123",
        Stream = stream,
        SystemPrompt = "You are a shop assistant.",
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_WithHistoryAndSystemPrompt_SendsMessagesInOrderAndReadsReply(bool stream)
    {
        var request = AgentHarness.Request(
            Endpoint(stream),
            text: "and the price?",
            history: [new AgentHistoryTurn(AgentRole.User, "do you have red shoes?"), new AgentHistoryTurn(AgentRole.Assistant, "Yes, size 42.")]);

        var reply = await _harness.OpenAi.RunAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal("openai:and the price?", reply.Text);
        Assert.StartsWith("chatcmpl-", reply.RunId, StringComparison.Ordinal);
        var seen = Assert.Single(_openAi.Requests);
        Assert.Equal("gpt-4.1-mini", seen.Model);
        Assert.Equal(stream, seen.Stream);
        Assert.Equal("Bearer sk-test-123", seen.Authorization);
        Assert.Equal(
            [("system", "You are a shop assistant."), ("user", "do you have red shoes?"), ("assistant", "Yes, size 42."), ("user", "and the price?")],
            seen.Messages.Select(m => (m.Role, m.Text)).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_WithImage_SendsImageUrlDataPart(bool stream)
    {
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        var request = AgentHarness.Request(Endpoint(stream), text: "what is it?", attachments: [new AgentAttachment("p.jpg", "image/jpeg", jpeg)]);

        var reply = await _harness.OpenAi.RunAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal("openai:what is it?", reply.Text);
        var user = Assert.Single(_openAi.Requests).Messages[^1];
        Assert.Equal("user", user.Role);
        Assert.Equal(["text", "image_url"], user.Parts.Select(p => p.Type));
        var image = Assert.Single(user.Images);
        Assert.Equal("image/jpeg", image.ContentType);
        Assert.Equal(jpeg, image.Content);
    }

    [Fact]
    public async Task Run_WithImageAndDocument_SendsImagePartAndMentionsDocument()
    {
        var request = AgentHarness.Request(
            Endpoint(false),
            text: "check these",
            attachments: [new AgentAttachment("p.png", "image/png", [1, 2, 3]), new AgentAttachment("offer.pdf", "application/pdf", new byte[1536])]);

        await _harness.OpenAi.RunAsync(request, TestContext.Current.CancellationToken);

        var user = Assert.Single(_openAi.Requests).Messages[^1];
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single(user.Images).Content);
        Assert.Equal("check these\n[attachment not sent: offer.pdf (application/pdf, 1.5 KB): chat completions take png/jpeg/gif/webp images only]", user.Text);
    }

    [Fact]
    public async Task Run_OnlyUnsupportedMedia_SendsPlainTextMention()
    {
        var request = AgentHarness.Request(Endpoint(false), text: "", attachments: [new AgentAttachment("voice.ogg", "audio/ogg; codecs=opus", new byte[100])]);

        await _harness.OpenAi.RunAsync(request, TestContext.Current.CancellationToken);

        var user = Assert.Single(_openAi.Requests).Messages[^1];
        Assert.Empty(user.Parts);
        Assert.Equal("[attachment not sent: voice.ogg (audio/ogg, 100 B): chat completions take png/jpeg/gif/webp images only]", user.Text);
    }

    [Fact]
    public async Task Run_ImageOverSizeLimit_MentionedNotSent()
    {
        await using var harness = AgentHarness.Create(o => o.MaxAttachmentBytes = 2);
        var request = AgentHarness.Request(Endpoint(false), text: "hi", attachments: [new AgentAttachment("p.png", "image/png", [1, 2, 3])]);

        await harness.OpenAi.RunAsync(request, TestContext.Current.CancellationToken);

        var user = Assert.Single(_openAi.Requests).Messages[^1];
        Assert.Empty(user.Images);
        Assert.Equal("hi\n[attachment not sent: p.png (image/png, 3 B): larger than the 2 B limit]", user.Text);
    }

    [Fact]
    public async Task Run_WithoutModel_FailsMisconfiguredWithoutCallingServer()
    {
        var endpoint = Endpoint(false) with { Model = null };

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(
            () => _harness.OpenAi.RunAsync(AgentHarness.Request(endpoint), TestContext.Current.CancellationToken));

        Assert.Equal(AgentFailureReason.Misconfigured, ex.Reason);
        Assert.Equal(0, _openAi.RequestCount);
    }

    [Fact]
    public async Task Run_ServerFailsOnceWith502_RetriesAndSucceeds()
    {
        _openAi.Faults.FailNext(1, 502);

        var reply = await _harness.OpenAi.RunAsync(AgentHarness.Request(Endpoint(true)), TestContext.Current.CancellationToken);

        Assert.Equal("openai:hello world", reply.Text);
        Assert.Equal(2, _openAi.RequestCount);
    }
}
