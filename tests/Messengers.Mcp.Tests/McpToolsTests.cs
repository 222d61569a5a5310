using System.Text.Json;
using Messengers.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Messengers.Mcp.Tests;

public sealed class McpToolsTests : IAsyncLifetime
{
    private static readonly string[] WwebTools =
    [
        "get_status", "search_contacts", "get_messages", "get_chats", "send_message", "create_group", "add_participants_to_group",
        "get_group_messages", "send_group_message", "search_groups", "get_group_by_id", "download_media_from_message", "send_media_message",
    ];

    private static readonly string[] OwnTools =
    [
        "list_instances", "create_instance", "get_instance_status", "get_qr_code", "request_pairing_code", "start_instance", "stop_instance", "send_telegram_message",
    ];

    private readonly McpHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ListTools_AdminKey_AllNamesPresentWithRequiredParameters()
    {
        await using var client = await _host.ConnectAsync();
        var tools = await client.ListToolsAsync(cancellationToken: McpHost.Ct);
        var names = tools.Select(t => t.Name).ToHashSet();
        foreach (var name in WwebTools.Concat(OwnTools))
        {
            Assert.Contains(name, names);
        }

        Assert.Equal(21, tools.Count);
        foreach (var tool in tools)
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description), tool.Name);
            var schema = tool.JsonSchema;
            foreach (var property in schema.GetProperty("properties").EnumerateObject())
            {
                Assert.True(property.Value.TryGetProperty("description", out _), $"{tool.Name}.{property.Name} has no description");
            }
        }

        string[] Required(string tool) => [.. tools.Single(t => t.Name == tool).JsonSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(["number", "limit"], Required("get_messages"));
        Assert.Equal(["number", "message"], Required("send_message"));
        Assert.Equal(["name", "participants"], Required("create_group"));
        Assert.Equal(["groupId", "participants"], Required("add_participants_to_group"));
        Assert.Equal(["groupId", "limit"], Required("get_group_messages"));
        Assert.Equal(["number", "source"], Required("send_media_message"));
        Assert.Equal(["query"], Required("search_contacts"));
        Assert.Equal(["messageId"], Required("download_media_from_message"));
    }

    [Fact]
    public async Task WebChatInstance_EchoAgent_EveryToolAnswersAsDocumented()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        await using var client = await _host.ConnectAsync(key);

        Assert.Equal("WhatsApp connection status: connected", await client.CallTextAsync("get_status"));

        await _host.VisitorSaysAsync(id, "visitor-1", "hello there");
        JsonElement messages = default;
        await Eventually.UntilAsync(async () =>
        {
            var text = await client.CallTextAsync("get_messages", new() { ["number"] = "visitor-1", ["limit"] = 10 });
            messages = McpClientExtensions.JsonAfterFirstLine(text);
            return messages.GetArrayLength() == 2;
        });
        Assert.Equal("hello there", messages[0].GetProperty("body").GetString());
        Assert.False(messages[0].GetProperty("fromMe").GetBoolean());
        Assert.Equal("visitor-1", messages[0].GetProperty("contact").GetString());
        Assert.Equal("Echo: hello there", messages[1].GetProperty("body").GetString());
        Assert.True(messages[1].GetProperty("fromMe").GetBoolean());
        Assert.EndsWith("Z", messages[1].GetProperty("timestamp").GetString(), StringComparison.Ordinal);

        var sent = await client.CallTextAsync("send_message", new() { ["number"] = "visitor-1", ["message"] = "a word from the agent" });
        Assert.StartsWith("Message sent successfully to visitor-1. Message ID: wco-", sent, StringComparison.Ordinal);
        var after = await client.CallTextAsync("get_messages", new() { ["number"] = "visitor-1", ["limit"] = 2 });
        Assert.StartsWith("Retrieved 2 messages from visitor-1:\n", after, StringComparison.Ordinal);
        Assert.Equal("a word from the agent", McpClientExtensions.JsonAfterFirstLine(after)[1].GetProperty("body").GetString());

        var chats = await client.CallTextAsync("get_chats");
        Assert.StartsWith("Retrieved 1 chats:\n", chats, StringComparison.Ordinal);
        var chat = McpClientExtensions.JsonAfterFirstLine(chats)[0];
        Assert.Equal("visitor-1", chat.GetProperty("id").GetString());
        Assert.Equal("a word from the agent", chat.GetProperty("lastMessage").GetString());
        Assert.Equal(0, chat.GetProperty("unreadCount").GetInt32());

        var contacts = await client.CallTextAsync("search_contacts", new() { ["query"] = "visitor" });
        Assert.StartsWith("Found 1 contacts matching \"visitor\":\n", contacts, StringComparison.Ordinal);
        Assert.Equal("visitor-1", McpClientExtensions.JsonAfterFirstLine(contacts)[0].GetProperty("number").GetString());
        Assert.StartsWith("Found 0 contacts matching \"nobody\":", await client.CallTextAsync("search_contacts", new() { ["query"] = "nobody" }), StringComparison.Ordinal);

        // What the web chat cannot do answers isError with the reason, never a protocol error.
        Assert.Contains("group chats is not supported by provider 'webchat'", await client.CallErrorAsync("search_groups", new() { ["query"] = "x" }), StringComparison.Ordinal);
        Assert.StartsWith("Error creating group: Error: ", await client.CallErrorAsync("create_group", new() { ["name"] = "g", ["participants"] = new[] { "1" } }), StringComparison.Ordinal);
        Assert.StartsWith("Error adding participants to group: Error: ", await client.CallErrorAsync("add_participants_to_group", new() { ["groupId"] = "g", ["participants"] = new[] { "1" } }), StringComparison.Ordinal);
        Assert.StartsWith("Error getting group messages: Error: ", await client.CallErrorAsync("get_group_messages", new() { ["groupId"] = "g", ["limit"] = 5 }), StringComparison.Ordinal);
        Assert.StartsWith("Error sending message to group: Error: ", await client.CallErrorAsync("send_group_message", new() { ["groupId"] = "g", ["message"] = "m" }), StringComparison.Ordinal);
        Assert.StartsWith("Error getting group by ID: Error: ", await client.CallErrorAsync("get_group_by_id", new() { ["groupId"] = "g" }), StringComparison.Ordinal);
        // The web chat sends media: the tool gets past the capability check and refuses the unresolvable source.
        Assert.Contains("cannot be resolved", await client.CallErrorAsync("send_media_message", new() { ["number"] = "visitor-1", ["source"] = "https://example.invalid/a.png" }), StringComparison.Ordinal);
        var messageId = messages[0].GetProperty("id").GetString();
        Assert.Contains("does not contain media", await client.CallErrorAsync("download_media_from_message", new() { ["messageId"] = messageId }), StringComparison.Ordinal);
        Assert.Contains("not found", await client.CallErrorAsync("download_media_from_message", new() { ["messageId"] = "nope" }), StringComparison.Ordinal);
        Assert.Contains("not Telegram", await client.CallErrorAsync("send_telegram_message", new() { ["chatId"] = "1", ["text"] = "t" }), StringComparison.Ordinal);
        Assert.Contains("QR pairing is not supported", await client.CallErrorAsync("get_qr_code"), StringComparison.Ordinal);
        Assert.Contains("not a valid chat id", await client.CallErrorAsync("send_message", new() { ["number"] = "bad id!", ["message"] = "m" }), StringComparison.Ordinal);

        var status = JsonDocument.Parse(await client.CallTextAsync("get_instance_status")).RootElement;
        Assert.Equal(id, status.GetProperty("id").GetString());
        Assert.Equal("Ready", status.GetProperty("status").GetString());

        Assert.Contains("stopped", await client.CallTextAsync("stop_instance"), StringComparison.Ordinal);
        var notReady = await client.CallErrorAsync("send_message", new() { ["number"] = "visitor-1", ["message"] = "m" });
        Assert.Equal("Error sending message: Error: instance not ready: status Stopped — it is stopped — start it with start_instance", notReady);
        Assert.Equal("WhatsApp connection status: disconnected", await client.CallTextAsync("get_status"));
        Assert.Contains("started", await client.CallTextAsync("start_instance"), StringComparison.Ordinal);
        await Eventually.UntilAsync(async () => await client.CallTextAsync("get_status") == "WhatsApp connection status: connected");
    }

    [Fact]
    public async Task Resources_InstanceAndAdminKeys_ReadChatsAndMessages()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        await _host.VisitorSaysAsync(id, "reader", "resource please");
        await using var client = await _host.ConnectAsync(key);

        var resources = await client.ListResourcesAsync(cancellationToken: McpHost.Ct);
        Assert.Equal(["whatsapp://contacts", "whatsapp://chats", "whatsapp://groups"], resources.Select(r => r.Uri));
        var templates = await client.ListResourceTemplatesAsync(cancellationToken: McpHost.Ct);
        Assert.Equal(3, templates.Count);

        await Eventually.UntilAsync(async () =>
        {
            var read = await client.ReadResourceAsync("whatsapp://messages/reader", cancellationToken: McpHost.Ct);
            return JsonDocument.Parse(Assert.IsType<TextResourceContents>(Assert.Single(read.Contents)).Text).RootElement.GetArrayLength() == 2;
        });
        var chats = await admin.ReadResourceAsync($"whatsapp://chats?instance={id}", cancellationToken: McpHost.Ct);
        Assert.Contains("\"reader\"", Assert.IsType<TextResourceContents>(Assert.Single(chats.Contents)).Text, StringComparison.Ordinal);
        var contacts = await client.ReadResourceAsync("whatsapp://contacts", cancellationToken: McpHost.Ct);
        Assert.Contains("\"number\": \"reader\"", Assert.IsType<TextResourceContents>(Assert.Single(contacts.Contents)).Text, StringComparison.Ordinal);

        var failure = await Assert.ThrowsAnyAsync<ModelContextProtocol.McpException>(() => admin.ReadResourceAsync("whatsapp://chats", cancellationToken: McpHost.Ct).AsTask());
        Assert.Contains("Failed to fetch chats", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminTools_ListAndCreate_ValidationFailuresAreToolErrors()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, _) = await _host.CreateWebChatAsync(admin, "listed");
        var list = await admin.CallTextAsync("list_instances");
        Assert.StartsWith("Found 1 instances:\n", list, StringComparison.Ordinal);
        Assert.Equal(id, McpClientExtensions.JsonAfterFirstLine(list)[0].GetProperty("id").GetString());

        var invalid = await admin.CallErrorAsync("create_instance", new() { ["name"] = "x", ["provider"] = "carrier-pigeon" });
        Assert.Contains("Unknown provider 'carrier-pigeon'", invalid, StringComparison.Ordinal);
        var badToken = await admin.CallErrorAsync("create_instance", new() { ["name"] = "bot", ["provider"] = "telegram", ["credentials"] = new Dictionary<string, string> { ["botToken"] = "nope" } });
        Assert.Contains("credentials.botToken", badToken, StringComparison.Ordinal);
    }
}
