using System.Net;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.WhatsAppWeb;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// Groups, reactions, contacts, chats and history through the REST API: on a WhatsApp Web instance (real Chromium against
/// the fake page, logged in from the start) and on the web chat, which answers "not supported".
/// </summary>
public sealed class GroupsApiTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string MyWid = "5511999990000@c.us";
    private const string Ann = "5511988887777@c.us";
    private const string SeedQuestionId = "false_5511988887777@c.us_3A0LD00000000001";
    private readonly EmbeddedHostFixture _backend = new();
    private FakeWhatsAppWebServer _fake = null!;
    private MessengersFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is missing (apt-get install chromium); the WhatsApp Web instance drives real Chromium.");
        _fake = await FakeWhatsAppWebServer.StartAsync();
        _fake.AutoLoginWid = MyWid;
        var settings = await _backend.NewBackendAsync();
        settings["Messengers:WhatsAppWeb:Url"] = _fake.Url;
        settings["Messengers:WhatsAppWeb:InjectWaJs"] = "false";
        settings["Messengers:WhatsAppWeb:StartTimeout"] = "00:00:30";
        _factory = new MessengersFactory(settings);
    }

    public async ValueTask DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        if (_fake is not null)
        {
            await _fake.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    private async Task<(HttpClient Client, string Id)> ReadyWhatsAppAsync()
    {
        var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new { name = "wa", provider = "whatsapp-web", agent = new { backend = "echo" } }), TestApi.Ct))
            .ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        await admin.WaitForStatusAsync(id, "Ready", TimeSpan.FromSeconds(60)); // starts Chromium
        return (admin, id);
    }

    private static string Path(string id, string rest) => $"{TestApi.Instances}/{id}/{rest}";

    [Fact]
    public async Task Groups_CreateInfoAddRemoveAndSend_WorkOnWhatsAppWeb()
    {
        var (admin, id) = await ReadyWhatsAppAsync();
        using var _ = admin;

        var created = await (await admin.PostAsync(Path(id, "groups"), TestApi.Json(new { name = "Launch", participants = new[] { "+55 11 98888-7777", "5511977776666@c.us" } }), TestApi.Ct))
            .ExpectAsync(HttpStatusCode.Created);
        var groupId = created.GetProperty("groupId").GetString()!;
        Assert.EndsWith("@g.us", groupId, StringComparison.Ordinal);
        Assert.All(created.GetProperty("participants").EnumerateArray(), p => Assert.True(p.GetProperty("ok").GetBoolean()));

        var added = await (await admin.PostAsync(Path(id, $"groups/{groupId}/participants/add"), TestApi.Json(new { participants = new[] { "5511922221111", Ann } }), TestApi.Ct))
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal([200, 409], added.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("code").GetInt32()));
        await (await admin.PostAsync(Path(id, $"groups/{groupId}/participants/remove"), TestApi.Json(new { participants = new[] { "5511977776666" } }), TestApi.Ct))
            .ExpectAsync(HttpStatusCode.OK);

        var info = await (await admin.GetAsync(Path(id, $"groups/{groupId}"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Launch", info.GetProperty("name").GetString());
        var participants = info.GetProperty("participants").EnumerateArray().ToList();
        Assert.Equal([MyWid, Ann, "5511922221111@c.us"], participants.Select(p => p.GetProperty("id").GetString()));
        Assert.Equal([true, false, false], participants.Select(p => p.GetProperty("isAdmin").GetBoolean()));

        var sent = await (await admin.PostAsync(Path(id, "messages"), TestApi.Json(new { chatId = groupId, text = "welcome all" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        var inPage = await Eventually.UntilAsync(() => Task.FromResult(_fake.Sent), s => s.Any(m => m.ChatId == groupId), what: "the group message in the page");
        var delivered = Assert.Single(inPage, s => s.ChatId == groupId);
        Assert.Equal(("welcome all", delivered.Id), (delivered.Content, sent.GetProperty("id").GetString()));

        await (await admin.PostAsync(Path(id, $"groups/{groupId}/leave"), null, TestApi.Ct)).ExpectAsync(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Groups_UnknownGroupOrBadInput_ClearProblems()
    {
        var (admin, id) = await ReadyWhatsAppAsync();
        using var _ = admin;

        await (await admin.GetAsync(Path(id, "groups/120363999999999999@g.us"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "120363999999999999@g.us");
        await (await admin.PostAsync(Path(id, "groups/120363999999999999@g.us/participants/add"), TestApi.Json(new { participants = new[] { Ann } }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.NotFound, "Chat not found");
        await (await admin.PostAsync(Path(id, "groups"), TestApi.Json(new { name = "", participants = new[] { "ann", "123" } }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "name", "participants", "'ann'", "'123'");
        await (await admin.GetAsync(Path(id, "groups/not-a-group"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "groupId");
    }

    [Fact]
    public async Task ContactsAndChats_FromTheMessenger_KeepLidIdsAndFallBackToStoreOnRequest()
    {
        var (admin, id) = await ReadyWhatsAppAsync();
        using var _ = admin;

        var contacts = await (await admin.GetAsync(Path(id, "contacts"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("messenger", contacts.GetProperty("source").GetString());
        var ann = Assert.Single(contacts.Items(), c => c.GetProperty("contactId").GetString() == Ann);
        Assert.Equal(("201234567890123@lid", "Ann Lima"), (ann.GetProperty("lidId").GetString(), ann.GetProperty("name").GetString()));

        var one = await (await admin.GetAsync(Path(id, "contacts/209876543210987@lid"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("5511966665555@c.us", one.GetProperty("phoneId").GetString());
        await (await admin.GetAsync(Path(id, "contacts/5511900000001"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "5511900000001");

        var chats = await (await admin.GetAsync(Path(id, "chats"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("messenger", chats.GetProperty("source").GetString());
        Assert.Contains(chats.Items(), c => c.GetProperty("chatId").GetString() == "120363000000000001@g.us" && c.GetProperty("isGroup").GetBoolean());

        var stored = await (await admin.GetAsync(Path(id, "chats?source=store"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("store", 0), (stored.GetProperty("source").GetString(), stored.Items().Count()));
        await (await admin.GetAsync(Path(id, "chats?source=elsewhere"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "source");
    }

    [Fact]
    public async Task History_FetchedTwiceAndAfterASend_StoredOnceWithTheSendIdsAndNoAgentReply()
    {
        var (admin, id) = await ReadyWhatsAppAsync();
        using var _ = admin;

        var first = await (await admin.PostAsync(Path(id, $"chats/{Ann}/history"), TestApi.Json(new { count = 10 }), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((3, 3), (first.GetProperty("fetched").GetInt32(), first.GetProperty("stored").GetInt32()));
        var sent = await (await admin.PostAsync(Path(id, "messages"), TestApi.Json(new { chatId = Ann, text = "back again" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        var again = await (await admin.PostAsync(Path(id, $"chats/{Ann}/history"), null, TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal((4, 0), (again.GetProperty("fetched").GetInt32(), again.GetProperty("stored").GetInt32()));
        Assert.Equal(sent.GetProperty("id").GetString(), again.GetProperty("messageIds").EnumerateArray().Last().GetString());
        var messages = await (await admin.GetAsync(Path(id, $"chats/{Ann}/messages"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["back again", "thanks", "old answer", "old question"], messages.Items().Select(m => m.GetProperty("body").GetString()));
        Assert.Equal([true, false, true, false], messages.Items().Select(m => m.GetProperty("fromMe").GetBoolean()));
        Assert.Equal(SeedQuestionId, messages.Items().Last().GetProperty("id").GetString());
        var inPage = await Eventually.UntilAsync(() => Task.FromResult(_fake.Sent), s => s.Count > 0, what: "the sent message in the page");
        Assert.Equal(["back again"], inPage.Select(s => s.Content)); // history is not new input: the echo agent stayed silent
    }

    [Fact]
    public async Task Reaction_ToStoredMessage_ChatFoundInStoreAndUnknownMessageIsNotFound()
    {
        var (admin, id) = await ReadyWhatsAppAsync();
        using var _ = admin;
        await (await admin.PostAsync(Path(id, $"chats/{Ann}/history"), TestApi.Json(new { count = 5 }), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);

        var reacted = await (await admin.PostAsync(Path(id, $"messages/{Uri.EscapeDataString(SeedQuestionId)}/reaction"), TestApi.Json(new { emoji = "❤️" }), TestApi.Ct))
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal((Ann, "❤️"), (reacted.GetProperty("chatId").GetString(), reacted.GetProperty("emoji").GetString()));
        await (await admin.PostAsync(Path(id, $"messages/{Uri.EscapeDataString(SeedQuestionId)}/reaction"), TestApi.Json(new { emoji = "" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        await (await admin.PostAsync(Path(id, "messages/false_x_NOPE/reaction"), TestApi.Json(new { emoji = "👍" }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "chatId", "not stored");
        await (await admin.PostAsync(Path(id, $"messages/false_{Ann}_NOPE/reaction"), TestApi.Json(new { emoji = "👍", chatId = Ann }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.NotFound, "not found");
        await (await admin.PostAsync(Path(id, $"messages/{Uri.EscapeDataString(SeedQuestionId)}/reaction"), TestApi.Json(new { emoji = "ok" }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.BadRequest, "emoji");
    }

    [Fact]
    public async Task WebChat_GroupsReactionsAndMessengerLists_AnswerNotSupported()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var web = await admin.CreateWebChatAsync();

        await (await admin.PostAsync(Path(web.Id, "groups"), TestApi.Json(new { name = "x", participants = new[] { "5511988887777" } }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "not supported", "groups");
        await (await admin.GetAsync(Path(web.Id, "groups/123456789@g.us"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "not supported");
        await (await admin.PostAsync(Path(web.Id, "messages/m1/reaction"), TestApi.Json(new { emoji = "👍" }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "reactions");
        await (await admin.GetAsync(Path(web.Id, "contacts/someone"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "contacts");
        await (await admin.GetAsync(Path(web.Id, "chats?source=messenger"), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "not supported");
        await (await admin.PostAsync(Path(web.Id, "chats/visitor-1/history"), null, TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "history");

        var contacts = await (await admin.GetAsync(Path(web.Id, "contacts"), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("store", contacts.GetProperty("source").GetString());
    }
}
