using ModelContextProtocol.Client;

namespace Messengers.Mcp.Tests;

/// <summary>Tool argument errors say what to fix, and tools keep the REST API's size limits; through the SDK client in both protocol generations.</summary>
public sealed class McpArgumentTests : IAsyncLifetime
{
    private readonly McpHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("2025-06-18")]
    public async Task GetMessages_MissingOrMistypedArguments_ErrorNamesTheArgument(string? protocolVersion)
    {
        await using var admin = await _host.ConnectAsync(protocolVersion: protocolVersion);
        var (id, _) = await _host.CreateWebChatAsync(admin);

        var missing = await admin.CallErrorAsync("get_messages", new() { ["instance"] = id, ["number"] = "v1" });
        Assert.StartsWith("Error calling get_messages: Error: `limit` is required", missing, StringComparison.Ordinal);
        Assert.Contains("The number of messages to get", missing, StringComparison.Ordinal);

        var mistyped = await admin.CallErrorAsync("get_messages", new() { ["instance"] = id, ["number"] = "v1", ["limit"] = "ten" });
        Assert.StartsWith("Error calling get_messages: Error: `limit` must be an integer, not a string", mistyped, StringComparison.Ordinal);

        var both = await admin.CallErrorAsync("send_message", new() { ["instance"] = id });
        Assert.Contains("`number` is required", both, StringComparison.Ordinal);
        Assert.Contains("`message` is required", both, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendMessage_TextOverTheRestLimit_RefusedAndNothingStored()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        await using var scoped = await _host.ConnectAsync(key);

        var error = await scoped.CallErrorAsync("send_message", new() { ["number"] = "big", ["message"] = new string('x', 16_385) });
        Assert.Equal("Error sending message: Error: The text is longer than 16384 characters. Shorten it or send it as several messages.", error);
        Assert.StartsWith("Retrieved 0 messages from big", await scoped.CallTextAsync("get_messages", new() { ["number"] = "big", ["limit"] = 10 }), StringComparison.Ordinal);
        Assert.StartsWith("Message sent successfully to big.", await scoped.CallTextAsync("send_message", new() { ["number"] = "big", ["message"] = new string('x', 16_384) }), StringComparison.Ordinal);
        Assert.Contains(id, await admin.CallTextAsync("list_instances"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SdkClients_BothGenerations_SameToolsAndOnlyTheOlderHasASession()
    {
        await using var sessionless = await _host.ConnectAsync();
        await using var stateful = await _host.ConnectAsync(protocolVersion: "2025-06-18");
        Assert.Null(sessionless.SessionId);
        Assert.False(string.IsNullOrEmpty(stateful.SessionId));
        Assert.Equal("2025-06-18", stateful.NegotiatedProtocolVersion);

        var a = (await sessionless.ListToolsAsync(cancellationToken: McpHost.Ct)).Select(t => t.Name).Order().ToList();
        var b = (await stateful.ListToolsAsync(cancellationToken: McpHost.Ct)).Select(t => t.Name).Order().ToList();
        Assert.Equal(a, b);
        Assert.StartsWith("Found 0 instances", await stateful.CallTextAsync("list_instances"), StringComparison.Ordinal);
    }
}
