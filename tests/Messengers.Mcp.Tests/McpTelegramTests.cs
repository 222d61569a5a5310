using Messengers.Testing;
using Messengers.Testing.Fakes.Telegram;

namespace Messengers.Mcp.Tests;

/// <summary>The tools on a Telegram instance backed by the fake Bot API: history from our store, options on sends.</summary>
public sealed class McpTelegramTests : IAsyncLifetime
{
    private const string Token = "4242:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ";
    private FakeTelegramServer _fake = null!;
    private McpHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _fake = await FakeTelegramServer.StartAsync(cancellationToken: McpHost.Ct);
        _fake.AddBot(Token);
        _host = new McpHost(new Dictionary<string, string?>
        {
            ["Messengers:Telegram:ApiBaseUrl"] = _fake.BaseUrl.ToString(),
            ["Messengers:Telegram:PollTimeoutSeconds"] = "1",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task TelegramInstance_FakeBotApi_HistoryGroupsAndSendOptions()
    {
        await using var admin = await _host.ConnectAsync();
        var created = await admin.CallTextAsync("create_instance", new()
        {
            ["name"] = "bot",
            ["provider"] = "telegram",
            ["credentials"] = new Dictionary<string, string> { ["botToken"] = Token },
        });
        var key = await _host.InstanceKeyAsync(created.Split('\n')[0]["Instance created. ID: ".Length..]);
        await using var client = await _host.ConnectAsync(key);
        await Eventually.UntilAsync(async () => await client.CallTextAsync("get_status") == "WhatsApp connection status: connected", 30);

        _fake.SendUserMessage(Token, 555, "hello bot");
        System.Text.Json.JsonElement messages = default;
        await Eventually.UntilAsync(async () =>
        {
            messages = McpClientExtensions.JsonAfterFirstLine(await client.CallTextAsync("get_messages", new() { ["number"] = "555", ["limit"] = 10 }));
            return messages.GetArrayLength() == 2;
        }, 30);
        Assert.Equal("hello bot", messages[0].GetProperty("body").GetString());
        Assert.Equal("Echo: hello bot", messages[1].GetProperty("body").GetString());
        var userMessageId = messages[0].GetProperty("id").GetString()!;

        var sent = await client.CallTextAsync("send_telegram_message", new()
        {
            ["chatId"] = "555",
            ["text"] = "<b>bold</b>",
            ["parseMode"] = "html",
            ["silent"] = true,
            ["disableLinkPreview"] = true,
            ["replyToMessageId"] = userMessageId,
        });
        Assert.StartsWith("Message sent successfully to 555. Message ID: 555_", sent, StringComparison.Ordinal);
        var last = _fake.GetSentMessages(Token, 555)[^1];
        Assert.Equal("<b>bold</b>", last.Text);
        Assert.Equal("HTML", last.ParseMode);
        Assert.True(last.DisableNotification);
        Assert.True(last.LinkPreviewDisabled);
        Assert.Equal(long.Parse(userMessageId.Split('_')[1], System.Globalization.CultureInfo.InvariantCulture), last.ReplyToMessageId);
        Assert.Contains("parseMode 'Fancy'", await client.CallErrorAsync("send_telegram_message", new() { ["chatId"] = "555", ["text"] = "x", ["parseMode"] = "Fancy" }), StringComparison.Ordinal);

        Assert.StartsWith("Message sent successfully to 555.", await client.CallTextAsync("send_message", new() { ["number"] = "555", ["message"] = "plain" }), StringComparison.Ordinal);
        Assert.Equal("plain", _fake.GetSentMessages(Token, 555)[^1].Text);

        _fake.SendUserMessage(Token, -100777, "group hello", chatType: "supergroup", chatTitle: "Team room");
        await Eventually.UntilAsync(async () => (await client.CallTextAsync("search_groups", new() { ["query"] = "" })).StartsWith("Found 1 groups", StringComparison.Ordinal), 30);
        Assert.Contains("\"id\": \"-100777\"", await client.CallTextAsync("get_group_by_id", new() { ["groupId"] = "-100777" }), StringComparison.Ordinal);
        Assert.StartsWith("Retrieved 1 messages from group -100777:", await client.CallTextAsync("get_group_messages", new() { ["groupId"] = "-100777", ["limit"] = 10 }), StringComparison.Ordinal);
        Assert.StartsWith("Message sent successfully to group -100777. Message ID: ", await client.CallTextAsync("send_group_message", new() { ["groupId"] = "-100777", ["message"] = "to all" }), StringComparison.Ordinal);
        Assert.Equal("to all", _fake.GetSentMessages(Token, -100777)[^1].Text);
        Assert.Contains("creating groups is not supported by provider 'telegram'", await client.CallErrorAsync("create_group", new() { ["name"] = "g", ["participants"] = new[] { "1" } }), StringComparison.Ordinal);
        Assert.StartsWith("Retrieved 2 chats", await client.CallTextAsync("get_chats"), StringComparison.Ordinal);
        Assert.Contains("loopback or private network", await client.CallErrorAsync("send_media_message", new() { ["number"] = "555", ["source"] = _fake.BaseUrl + "x.png" }), StringComparison.Ordinal);
        Assert.Contains("only in stdio mode", await client.CallErrorAsync("send_media_message", new() { ["number"] = "555", ["source"] = "file:///etc/passwd" }), StringComparison.Ordinal);
    }
}
