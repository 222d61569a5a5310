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

    [Fact]
    public async Task Run_WithImage_SendsImageUrlDataPart()
    {
        var request = AgentHarness.Request(Endpoint(false), text: "what is it?", attachments: [new AgentAttachment("p.png", "image/png", [1, 2, 3])]);

        var reply = await _harness.OpenAi.RunAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal("openai:what is it?", reply.Text);
        var user = Assert.Single(_openAi.Requests).Messages[^1];
        Assert.Equal("data:image/png;base64,AQID", Assert.Single(user.ImageUrls));
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
