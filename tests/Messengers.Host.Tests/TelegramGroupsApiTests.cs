using System.Globalization;
using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.Telegram;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>Group info and reactions of a Telegram bot through the REST API, against the fake Bot API.</summary>
public sealed class TelegramGroupsApiTests() : TelegramGatewayTests(Token, "groups_test_bot", "GroupsTestBot")
{
    private const string Token = "123456789:AAHtelegramGroupsTestToken_abcdefgh";
    private const long Group = -100777;
    [Fact]
    public async Task TelegramGroup_InfoReactionAndUnsupportedCreate_AnsweredPerBotApi()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new { name = "bot", provider = "telegram", credentials = new { botToken = Token }, agent = new { backend = "echo" } }), TestApi.Ct))
            .ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        await admin.WaitForStatusAsync(id, "Ready");
        var update = Telegram.SendUserMessage(Token, Group, "hello team", new FakeUser(4242, "Ann", "ann"), chatType: "supergroup", chatTitle: "Team room");
        Telegram.SetChatAdministrators(Token, Group, new FakeUser(4242, "Ann", "ann"), new FakeUser(5151, "Bob"));
        var messageId = $"{Group}_{update.MessageId.ToString(CultureInfo.InvariantCulture)}";
        await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/{Group}/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Any(m => m.GetProperty("id").GetString() == messageId),
            what: "the group message stored");

        var info = await (await admin.GetAsync($"{TestApi.Instances}/{id}/groups/{Group}", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("Team room", "4242"), (info.GetProperty("name").GetString(), info.GetProperty("owner").GetString()));
        Assert.Equal([("4242", true), ("5151", false)], info.GetProperty("participants").EnumerateArray().Select(p => (p.GetProperty("id").GetString(), p.GetProperty("isSuperAdmin").GetBoolean())));

        await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages/{messageId}/reaction", TestApi.Json(new { emoji = "👍" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        var reaction = System.Text.Json.Nodes.JsonNode.Parse(Telegram.GetReaction(Token, Group, update.MessageId)!)!.AsArray();
        Assert.Equal(("emoji", "👍"), (reaction.Single()!["type"]!.GetValue<string>(), reaction.Single()!["emoji"]!.GetValue<string>()));
        await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages/{messageId}/reaction", TestApi.Json(new { emoji = "" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Null(Telegram.GetReaction(Token, Group, update.MessageId));

        await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages/{Group}_999999/reaction", TestApi.Json(new { emoji = "👍", chatId = Group.ToString(CultureInfo.InvariantCulture) }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.NotFound, "MESSAGE_ID_INVALID");
        await (await admin.PostAsync($"{TestApi.Instances}/{id}/groups", TestApi.Json(new { name = "new", participants = new[] { "4242" } }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "creating groups");
        var chats = await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("store", chats.GetProperty("source").GetString());
        Assert.Contains(chats.Items(), c => c.GetProperty("chatId").GetString() == Group.ToString(CultureInfo.InvariantCulture));
    }
}
