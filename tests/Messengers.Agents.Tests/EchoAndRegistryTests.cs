namespace Messengers.Agents.Tests;

public sealed class EchoAndRegistryTests
{
    private static readonly AgentEndpoint None = new("http://unused.invalid");

    [Fact]
    public async Task Echo_Text_RepliesWithEchoPrefix()
    {
        await using var harness = AgentHarness.Create();

        var reply = await harness.Backends.Get("echo").RunAsync(AgentHarness.Request(None, text: "ping"), TestContext.Current.CancellationToken);

        Assert.Equal("Echo: ping", reply.Text);
    }

    [Fact]
    public async Task Echo_MediaAndEmptyText_CountsAttachmentsOrStaysSilent()
    {
        await using var harness = AgentHarness.Create();
        var echo = harness.Backends.Get("ECHO");

        var withMedia = await echo.RunAsync(AgentHarness.Request(None, text: "look", attachments: [new AgentAttachment("a.png", "image/png", [1])]), TestContext.Current.CancellationToken);
        var silent = await echo.RunAsync(AgentHarness.Request(None, text: "  "), TestContext.Current.CancellationToken);

        Assert.Equal("Echo: look [+1 attachment(s)]", withMedia.Text);
        Assert.True(silent.IsEmpty);
    }

    [Fact]
    public async Task Registry_AddAgentBackends_ResolvesEveryBuiltInName()
    {
        await using var harness = AgentHarness.Create();

        Assert.Equal(["agno", "echo", "http", "openai", "redis"], harness.Backends.Names);
        foreach (var name in harness.Backends.Names)
        {
            Assert.Equal(name, harness.Backends.Get(name).Name);
        }
    }

    [Fact]
    public async Task Registry_UnknownName_ThrowsListingKnownNames()
    {
        await using var harness = AgentHarness.Create();

        var ex = Assert.Throws<ArgumentException>(() => harness.Backends.Get("flows"));

        Assert.Contains("agno, echo, http, openai, redis", ex.Message, StringComparison.Ordinal);
        Assert.False(harness.Backends.TryGet("flows", out _));
    }
}
