using System.Text.Json;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Testing.Fakes.WhatsAppWeb;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>Chats, contacts, groups, reactions and history through wa-js calls, in real Chromium against the fake page.</summary>
public sealed class WhatsAppWebDirectoryTests : WhatsAppWebTestBase
{
    private const string Ann = "5511988887777@c.us";
    private const string AnnLid = "201234567890123@lid";
    private const string SeedGroup = "120363000000000001@g.us";

    /// <summary>The fake stubs wa-js; this checks the real 4.6 bundle has every function the directory scripts call, with positional arguments.</summary>
    [Fact]
    public async Task RealWaJs_DirectoryFunctions_ExistWithPositionalArguments()
    {
        var bundle = Path.Combine(AppContext.BaseDirectory, "wa-js", "wppconnect-wa.js");
        Assert.SkipUnless(File.Exists(bundle), $"{bundle} is missing; run tests/setup-npm.sh");
        await using var lease = await Pool.CreateContextAsync("wa-js-probe", null, Ct);
        var page = await lease.Context.NewPageAsync();
        await page.GotoAsync(Fake.BlankUrl);
        await page.AddScriptTagAsync(new() { Path = bundle });

        var arities = await page.EvaluateAsync<Dictionary<string, int>>("""
            () => {
              const names = ['chat.list', 'chat.get', 'chat.getMessages', 'chat.sendReactionToMessage', 'contact.list', 'contact.get',
                'contact.getPnLidEntry', 'group.create', 'group.getParticipants', 'group.addParticipants', 'group.removeParticipants', 'group.leave'];
              const out = {};
              for (const name of names) {
                const [ns, fn] = name.split('.');
                out[name] = typeof window.WPP[ns][fn] === 'function' ? window.WPP[ns][fn].length : -1;
              }
              return out;
            }
            """);

        Assert.DoesNotContain(arities, a => a.Value < 0);
        Assert.True(arities["group.create"] >= 2, "group.create(name, participants) takes positional arguments in wa-js 4.6");
        Assert.Equal(2, arities["group.addParticipants"]);
        Assert.Equal(2, arities["group.removeParticipants"]);
        Assert.Equal(2, arities["chat.sendReactionToMessage"]);
    }

    [Fact]
    public async Task Contacts_SeededAddressBook_KeepBothPhoneAndLidIds()
    {
        var (connection, _) = await PairedAsync(new RecordingCallbacks());

        var contacts = await connection.GetContactsAsync(Ct);

        var ann = Assert.Single(contacts, c => c.ContactId == Ann);
        Assert.Equal((Ann, AnnLid, "Ann Lima", "Ann", true), (ann.PhoneId, ann.LidId, ann.Name, ann.PushName, ann.IsMyContact));
        var bob = Assert.Single(contacts, c => c.ContactId == "5511977776666@c.us");
        Assert.Null(bob.LidId);
        var carol = Assert.Single(contacts, c => c.ContactId == "209876543210987@lid");
        Assert.Equal(("5511966665555@c.us", "209876543210987@lid", false), (carol.PhoneId, carol.LidId, carol.IsMyContact));
        Assert.DoesNotContain(contacts, c => c.ContactId == MyWid);
    }

    [Fact]
    public async Task Contact_ByBareNumberOrUnknown_FoundOrNull()
    {
        var (connection, _) = await PairedAsync(new RecordingCallbacks());

        var ann = await connection.GetContactAsync("+55 11 98888-7777", Ct);
        var nobody = await connection.GetContactAsync("5511900000001@c.us", Ct);

        Assert.Equal(AnnLid, ann?.LidId);
        Assert.Null(nobody);
    }

    [Fact]
    public async Task Chats_AfterAnIncomingMessage_ListedNewestFirstWithGroupFlag()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, page) = await PairedAsync(callbacks);
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.Receive, new { from = "5511955554444@c.us", body = "hi", notifyName = "Dee" });

        var chats = await connection.GetChatsAsync(10, Ct);

        Assert.Equal("5511955554444@c.us", chats[0].ChatId);
        Assert.Equal(1, chats[0].UnreadCount);
        Assert.Contains(chats, c => c.ChatId == SeedGroup && c.IsGroup && c.Name == "Seed Team");
        Assert.Contains(chats, c => c.ChatId == Ann && !c.IsGroup && c.Name == "Ann Lima");
        Assert.Single(await connection.GetChatsAsync(1, Ct));
    }

    [Fact]
    public async Task Group_CreateAddRemoveLeave_ChangesThePagesGroup()
    {
        var (connection, page) = await PairedAsync(new RecordingCallbacks());
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.BlockAdding, "5511933332222@c.us");

        var created = await connection.CreateGroupAsync("Project X", [Ann, "5511977776666"], Ct);

        Assert.Matches("^[0-9]{18}@g.us$", created.GroupId);
        Assert.All(created.Participants, p => Assert.True(p.Ok));
        var info = await connection.GetGroupAsync(created.GroupId, Ct);
        Assert.NotNull(info);
        Assert.Equal("Project X", info.Name);
        Assert.Equal(MyWid, info.Owner);
        Assert.Equal([MyWid, Ann, "5511977776666@c.us"], info.Participants.Select(p => p.Id));
        Assert.True(info.Participants[0].IsSuperAdmin && info.Participants[0].IsAdmin);
        Assert.False(info.Participants[1].IsAdmin);

        var added = await connection.AddParticipantsAsync(created.GroupId, ["5511922221111", "5511933332222@c.us", Ann], Ct);
        Assert.Equal([(true, 200), (false, 403), (false, 409)], added.Select(a => (a.Ok, a.Code)));
        Assert.Equal("INVITE2222", added[1].InviteCode);

        var removed = await connection.RemoveParticipantsAsync(created.GroupId, [Ann], Ct);
        Assert.True(Assert.Single(removed).Ok);
        var page4 = await page.EvaluateAsync<JsonElement>(FakeWhatsAppWebServer.Js.Chat, created.GroupId);
        Assert.Equal([MyWid, "5511977776666@c.us", "5511922221111@c.us"], page4.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("id").GetString()));

        await connection.LeaveGroupAsync(created.GroupId, Ct);
        Assert.DoesNotContain(await connection.GetChatsAsync(0, Ct), c => c.ChatId == created.GroupId);
    }

    [Fact]
    public async Task Group_UnknownOrPrivateChat_InfoNullAndChangesRefused()
    {
        var (connection, _) = await PairedAsync(new RecordingCallbacks());

        Assert.Null(await connection.GetGroupAsync("120363999999999999@g.us", Ct));
        Assert.Null(await connection.GetGroupAsync(Ann, Ct));
        var refused = await Assert.ThrowsAsync<MessengerRequestException>(() => connection.AddParticipantsAsync("120363999999999999@g.us", [Ann], Ct));
        Assert.True(refused.NotFound);
        Assert.Contains("Chat not found", refused.Message, StringComparison.Ordinal);
        var notMember = await Assert.ThrowsAsync<MessengerRequestException>(() => connection.RemoveParticipantsAsync(SeedGroup, ["5511900000009"], Ct));
        Assert.Contains("not exists in group", notMember.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task React_ToReceivedMessage_SentAndEmptyRemoves()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, page) = await PairedAsync(callbacks);
        var id = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new { from = Ann, body = "great news" });
        await WaitUntilAsync(() => !callbacks.Messages.IsEmpty);

        await connection.ReactAsync(Ann, id, "👍", Ct);
        await connection.ReactAsync(Ann, id, "", Ct);

        Assert.Equal([$"{id}:👍", $"{id}:"], await page.EvaluateAsync<string[]>(FakeWhatsAppWebServer.Js.Reactions));
        var missing = await Assert.ThrowsAsync<MessengerRequestException>(() => connection.ReactAsync(Ann, "false_" + Ann + "_NOPE", "👍", Ct));
        Assert.True(missing.NotFound);
    }

    [Fact]
    public async Task History_OlderMessages_IncludeOwnWithTheSendIds()
    {
        var (connection, _) = await PairedAsync(new RecordingCallbacks());
        var sent = await connection.SendAsync(new OutgoingMessage { ChatId = Ann, Text = "new message" }, Ct);

        var latest = await connection.FetchHistoryAsync(Ann, 2, null, Ct);
        var older = await connection.FetchHistoryAsync(Ann, 10, latest[0].MessageId, Ct);

        Assert.Equal(["thanks", "new message"], latest.Select(m => m.Body));
        Assert.Equal(sent.MessageId, latest[1].MessageId);
        Assert.True(latest[1].IsFromMe);
        Assert.Equal(MyWid, latest[1].From);
        Assert.Equal(["old question", "old answer"], older.Select(m => m.Body));
        Assert.Equal([false, true], older.Select(m => m.IsFromMe));
        Assert.All(older.Concat(latest), m => Assert.Equal(Ann, m.ChatId));
        Assert.Equal(Ann, older[0].From);
        Assert.Equal(MessageTypes.Text, older[0].Type);
    }
}
