using System.Text.Json;
using Messengers.Testing;
using Messengers.Testing.Fakes.WhatsAppWeb;

namespace Messengers.Mcp.Tests;

/// <summary>The group tools on a WhatsApp Web instance: real Chromium against the fake page, logged in from the start.</summary>
public sealed class McpWhatsAppWebTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string MyWid = "5511999990000@c.us";
    private FakeWhatsAppWebServer _fake = null!;
    private McpHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is missing (apt-get install chromium); the WhatsApp Web instance drives real Chromium.");
        _fake = await FakeWhatsAppWebServer.StartAsync();
        _fake.AutoLoginWid = MyWid;
        _host = new McpHost(new Dictionary<string, string?>
        {
            ["Messengers:WhatsAppWeb:Url"] = _fake.Url,
            ["Messengers:WhatsAppWeb:InjectWaJs"] = "false",
            ["Messengers:WhatsAppWeb:StartTimeout"] = "00:00:30",
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_fake is not null)
        {
            await _fake.DisposeAsync();
        }
    }

    [Fact]
    public async Task GroupTools_WhatsAppWebInstance_CreateAddAndDescribeWithAdmins()
    {
        await using var admin = await _host.ConnectAsync();
        var created = await admin.CallTextAsync("create_instance", new() { ["name"] = "wa", ["provider"] = "whatsapp-web" });
        var id = created.Split('\n')[0]["Instance created. ID: ".Length..].Trim();
        await using var client = await _host.ConnectAsync(await _host.InstanceKeyAsync(id));
        await Eventually.UntilAsync(async () => await client.CallTextAsync("get_status") == "WhatsApp connection status: connected", 60);

        var contacts = McpClientExtensions.JsonAfterFirstLine(await client.CallTextAsync("search_contacts", new() { ["query"] = "carol" }));
        Assert.Equal(("Carol", "5511966665555"), (contacts[0].GetProperty("name").GetString(), contacts[0].GetProperty("number").GetString())); // listed under its @lid id
        var chats = await client.CallTextAsync("get_chats");
        Assert.Contains("\"name\": \"Seed Team\"", chats, StringComparison.Ordinal);

        var group = await client.CallTextAsync("create_group", new() { ["name"] = "Ops", ["participants"] = new[] { "5511988887777", "+5511977776666" } });
        Assert.Matches("^Group created successfully\\. Group ID: [0-9]{18}@g\\.us$", group);
        var groupId = group["Group created successfully. Group ID: ".Length..];

        var added = await client.CallTextAsync("add_participants_to_group", new() { ["groupId"] = groupId, ["participants"] = new[] { "5511922221111", "5511988887777" } });
        Assert.Equal($"Added 1 participants to group {groupId}\nFailed to add 1 participants: [{{\"number\":\"5511988887777\",\"reason\":\"already a participant\"}}]", added);

        var described = JsonDocument.Parse(await client.CallTextAsync("get_group_by_id", new() { ["groupId"] = groupId })).RootElement;
        Assert.Equal(("Ops", "Ops"), (described.GetProperty("name").GetString(), described.GetProperty("description").GetString()));
        var participants = described.GetProperty("participants").EnumerateArray().ToList();
        Assert.Equal(["5511999990000", "5511988887777", "5511977776666", "5511922221111"], participants.Select(p => p.GetProperty("number").GetString()));
        Assert.Equal([true, false, false, false], participants.Select(p => p.GetProperty("isAdmin").GetBoolean()));

        Assert.StartsWith($"Message sent successfully to group {groupId}. Message ID: true_{groupId}_", await client.CallTextAsync("send_group_message", new() { ["groupId"] = groupId, ["message"] = "hello ops" }), StringComparison.Ordinal);
        Assert.Contains("not valid phone numbers", await client.CallErrorAsync("create_group", new() { ["name"] = "Bad", ["participants"] = new[] { "call me" } }), StringComparison.Ordinal);
        Assert.StartsWith("Error adding participants to group: Error: WhatsApp Web refused the request: Chat not found", await client.CallErrorAsync("add_participants_to_group", new() { ["groupId"] = "120363999999999999", ["participants"] = new[] { "5511922221111" } }), StringComparison.Ordinal);

        // Pairing by phone code reaches the grain and the page: this instance is paired already, so it is refused.
        Assert.Contains("request_pairing_code", (await client.ListToolsAsync(cancellationToken: McpHost.Ct)).Select(t => t.Name));
        Assert.Contains("is not waiting for pairing (status Ready)", await client.CallErrorAsync("request_pairing_code", new() { ["phoneNumber"] = "+5511999990000" }), StringComparison.Ordinal);
        Assert.Contains("is not an international (E.164) phone number", await client.CallErrorAsync("request_pairing_code", new() { ["phoneNumber"] = "0123" }), StringComparison.Ordinal);
    }
}
