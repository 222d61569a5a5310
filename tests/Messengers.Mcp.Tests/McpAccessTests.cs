namespace Messengers.Mcp.Tests;

public sealed class McpAccessTests : IAsyncLifetime
{
    private readonly McpHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ListTools_WebChatInstanceKey_HidesAdminAndUnsupportedTools()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        await using var scoped = await _host.ConnectAsync(key);

        var all = (await admin.ListToolsAsync(cancellationToken: McpHost.Ct)).Select(t => t.Name).ToHashSet();
        var visible = (await scoped.ListToolsAsync(cancellationToken: McpHost.Ct)).Select(t => t.Name).ToHashSet();

        Assert.Subset(all, visible);
        foreach (var hidden in new[] { "list_instances", "create_instance", "create_group", "send_group_message", "search_groups", "send_telegram_message", "get_qr_code", "request_pairing_code" })
        {
            Assert.Contains(hidden, all);
            Assert.DoesNotContain(hidden, visible);
        }

        foreach (var shown in new[] { "get_status", "send_message", "get_chats", "get_messages", "search_contacts", "get_instance_status", "start_instance", "stop_instance", "send_media_message" })
        {
            Assert.Contains(shown, visible);
        }

        // Hidden is not forbidden: calling by name still gives the actionable error.
        Assert.Contains("needs the admin key", await scoped.CallErrorAsync("list_instances"), StringComparison.Ordinal);
        Assert.Contains("not supported by provider 'webchat'", await scoped.CallErrorAsync("search_groups", new() { ["query"] = "x", ["instance"] = id }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToolCalls_OverThePerKeyLimit_ErrorSaysWhenToRetryAndOtherKeysGoOn()
    {
        await using var host = new McpHost(new Dictionary<string, string?> { ["Messengers:Mcp:ToolCallsPerMinute"] = "4" });
        await using var admin = await host.ConnectAsync();
        var (id, key) = await host.CreateWebChatAsync(admin); // create_instance + at least one get_status

        string? limited = null;
        for (var i = 0; i < 5 && limited is null; i++)
        {
            var result = await admin.CallAsync("get_instance_status", new() { ["instance"] = id });
            limited = result.IsError == true ? result.Text() : null;
        }

        Assert.NotNull(limited);
        Assert.Matches(@"^Error calling get_instance_status: Error: rate limit reached: this key may call 4 tools per minute; try again in \d+ seconds$", limited);

        await using var scoped = await host.ConnectAsync(key);
        Assert.Equal("WhatsApp connection status: connected", await scoped.CallTextAsync("get_status"));
        Assert.NotEmpty(await scoped.ListToolsAsync(cancellationToken: McpHost.Ct)); // listing is not a tool call
    }
}
