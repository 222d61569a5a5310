using Messengers.Abstractions.Messages;
using Messengers.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Data.Tests.Messages;

/// <summary>
/// The behaviour every <see cref="IMessageStore"/> must show (PostgreSQL, SQLite). A store's test class derives from
/// this and supplies a store on a fresh, migrated database whose clock is <see cref="Clock"/>; each test also uses
/// its own instance id.
/// </summary>
public abstract class MessageStoreContract
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 22, 3, 4, 5, TimeSpan.Zero);

    protected abstract IMessageStore Store { get; }

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddTicks(1234560));

    /// <summary>The name recorded in schema_migrations for <paramref name="version"/>, or null.</summary>
    protected abstract Task<string?> AppliedMigrationAsync(int version);

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    protected static string NewInstance() => "inst-" + Guid.NewGuid().ToString("N");

    protected static ChatMessage Message(string instance, string id, string chat = "chat-1", DateTimeOffset? at = null, bool fromMe = false, string? contactName = null, bool group = false, string? from = null)
        => new()
        {
            InstanceId = instance,
            MessageId = id,
            ChatId = chat,
            From = from ?? (fromMe ? "me" : chat),
            To = fromMe ? chat : "me",
            Body = "body " + id,
            IsFromMe = fromMe,
            IsGroup = group,
            GroupId = group ? chat : null,
            ContactName = contactName,
            Timestamp = at ?? T0,
        };

    [Fact]
    public async Task Migrations_OnFreshDatabase_Applies002Messages()
    {
        Assert.Equal("grain_state", await AppliedMigrationAsync(1));
        Assert.Equal("messages", await AppliedMigrationAsync(2));
    }

    [Fact]
    public async Task TryInsert_NewMessageWithEveryField_RoundTripsExactly()
    {
        var message = new ChatMessage
        {
            InstanceId = NewInstance(),
            MessageId = "wamid.ÄÖ-1",
            ChatId = "79990001122@c.us",
            From = "79990001122@c.us",
            To = "79990003344@c.us",
            Body = "Привет, 世界! \"quoted\" 'single' \\ 👋🏽\nsecond line",
            Type = MessageTypes.Image,
            IsFromMe = true,
            IsGroup = true,
            GroupId = "group-1@g.us",
            ContactName = "Мария 🌸",
            AgentId = "agent-7",
            SessionId = "3f2b1c9e-0000-4000-8000-000000000001",
            ReplyToMessageId = "wamid.0",
            Media = new MediaRef("media_Abc-123", "image/jpeg", "фото 1.jpg", 123_456_789_012, new string('a', 64)),
            Ack = MessageAck.Delivered,
            Timestamp = new DateTimeOffset(2026, 11, 22, 6, 4, 5, TimeSpan.FromHours(3)).AddTicks(1234560),
            CreatedAt = new DateTimeOffset(2026, 11, 22, 3, 4, 6, TimeSpan.Zero).AddTicks(9999990),
        };

        Assert.True(await Store.TryInsertAsync(message, Cancel));

        var read = await Store.GetAsync(message.InstanceId, message.MessageId, Cancel);
        Assert.Equal(message, read);
        Assert.Equal(TimeSpan.Zero, read!.Timestamp.Offset);
    }

    [Fact]
    public async Task TryInsert_MinimalMessage_KeepsNullsAndDefaults()
    {
        var message = new ChatMessage { InstanceId = NewInstance(), MessageId = "m1", ChatId = "c1", Timestamp = T0, CreatedAt = T0 };
        Assert.True(await Store.TryInsertAsync(message, Cancel));
        var read = await Store.GetAsync(message.InstanceId, "m1", Cancel);
        Assert.Equal(message, read);
        Assert.Null(read!.Media);
        Assert.Equal(MessageAck.None, read.Ack);
        Assert.Equal("", read.Body);
    }

    [Fact]
    public async Task TryInsert_WithoutCreatedAt_UsesStoreClockInMicroseconds()
    {
        var instance = NewInstance();
        Assert.True(await Store.TryInsertAsync(Message(instance, "m1"), Cancel));
        var read = await Store.GetAsync(instance, "m1", Cancel);
        Assert.Equal(Clock.GetUtcNow().AddTicks(-(Clock.GetUtcNow().UtcTicks % 10)), read!.CreatedAt);
    }

    [Fact]
    public async Task TryInsert_TimestampWithSubMicrosecondTicks_IsTruncatedToMicroseconds()
    {
        var instance = NewInstance();
        await Store.TryInsertAsync(Message(instance, "m1", at: T0.AddTicks(17)), Cancel);
        var read = await Store.GetAsync(instance, "m1", Cancel);
        Assert.Equal(T0.AddTicks(10), read!.Timestamp);
    }

    [Fact]
    public async Task Get_UnknownMessage_ReturnsNull()
    {
        Assert.Null(await Store.GetAsync(NewInstance(), "nope", Cancel));
    }

    [Fact]
    public async Task TryInsert_DuplicateId_ReturnsFalseAndKeepsFirst()
    {
        var instance = NewInstance();
        var first = Message(instance, "m1") with { Body = "first" };
        Assert.True(await Store.TryInsertAsync(first, Cancel));
        Assert.False(await Store.TryInsertAsync(first with { Body = "second", ChatId = "other" }, Cancel));

        var read = await Store.GetAsync(instance, "m1", Cancel);
        Assert.Equal("first", read!.Body);
        Assert.Equal("chat-1", read.ChatId);
        Assert.Equal(1, await Store.CountAsync(instance, Cancel));
    }

    [Fact]
    public async Task TryInsert_SameIdInAnotherInstance_IsInsertedToo()
    {
        var message = Message(NewInstance(), "m1");
        Assert.True(await Store.TryInsertAsync(message, Cancel));
        Assert.True(await Store.TryInsertAsync(message with { InstanceId = NewInstance() }, Cancel));
    }

    [Fact]
    public async Task TryInsert_FiftyConcurrentInsertsOfSameId_ExactlyOneReturnsTrue()
    {
        var instance = NewInstance();
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Store.TryInsertAsync(Message(instance, "same") with { Body = $"copy {i}" }, Cancel))));

        Assert.Single(results, r => r);
        Assert.Equal(1, await Store.CountAsync(instance, Cancel));
    }

    [Fact]
    public async Task TryInsert_TwoHundredConcurrentInsertsOfHundredIds_EachStoredOnceWithItsFields()
    {
        var instance = NewInstance();
        var messages = Enumerable.Range(0, 100).Select(i => Message(instance, $"m{i:D3}", chat: $"chat-{i % 7}") with { ClientMessageId = i % 2 == 0 ? $"c{i}" : null }).ToList();
        var outcomes = await Task.WhenAll(messages.Concat(messages).Select(m => Task.Run(() => Store.TryInsertAsync(m, Cancel), Cancel)));

        Assert.Equal(100, outcomes.Count(inserted => inserted));
        Assert.Equal(100, await Store.CountAsync(instance, Cancel));
        foreach (var message in messages.Where((_, i) => i % 9 == 0))
        {
            var stored = await Store.GetAsync(instance, message.MessageId, Cancel);
            Assert.Equal((message.ChatId, message.Body, message.ClientMessageId), (stored!.ChatId, stored.Body, stored.ClientMessageId));
        }
    }

    [Fact]
    public async Task GetMessages_NoCursor_NewestFirstOnlyThatChat()
    {
        var instance = NewInstance();
        for (var i = 0; i < 5; i++)
        {
            await Store.TryInsertAsync(Message(instance, $"m{i}", at: T0.AddMinutes(i)), Cancel);
        }

        await Store.TryInsertAsync(Message(instance, "elsewhere", chat: "chat-2", at: T0.AddHours(1)), Cancel);
        await Store.TryInsertAsync(Message(NewInstance(), "other-instance", at: T0.AddHours(1)), Cancel);

        var page = await Store.GetMessagesAsync(instance, "chat-1", 10, cancellationToken: Cancel);
        Assert.Equal(["m4", "m3", "m2", "m1", "m0"], page.Select(m => m.MessageId));
        Assert.Equal(["m4", "m3"], (await Store.GetMessagesAsync(instance, "chat-1", 2, cancellationToken: Cancel)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task GetMessages_KeysetPagingOver120WithEqualTimestamps_VisitsEachOnceInOrder()
    {
        var instance = NewInstance();
        // Three timestamps, 40 messages each; ids inserted in shuffled order so that only the ORDER BY decides.
        var messages = Enumerable.Range(0, 120).Select(i => Message(instance, $"m{i:D3}", at: T0.AddSeconds(i / 40))).ToList();
        foreach (var i in Enumerable.Range(0, 120).Select(i => i * 37 % 120))
        {
            Assert.True(await Store.TryInsertAsync(messages[i], Cancel));
        }

        var seen = new List<string>();
        MessageCursor? cursor = null;
        for (var pages = 0; pages < 20; pages++)
        {
            var page = await Store.GetMessagesAsync(instance, "chat-1", 25, cursor, Cancel);
            if (page.Count == 0)
            {
                break;
            }

            Assert.True(page.Count <= 25);
            seen.AddRange(page.Select(m => m.MessageId));
            cursor = new MessageCursor(page[^1].Timestamp, page[^1].MessageId);
        }

        var expected = messages.OrderByDescending(m => m.Timestamp).ThenByDescending(m => m.MessageId, StringComparer.Ordinal).Select(m => m.MessageId);
        Assert.Equal(expected, seen);
        Assert.Equal("m119", seen[0]);
        Assert.Equal("m000", seen[^1]);
    }

    [Fact]
    public async Task GetMessages_LimitOutOfRange_IsClampedToOneAndFiveHundred()
    {
        var instance = NewInstance();
        await Task.WhenAll(Enumerable.Range(0, 510).Select(i => Store.TryInsertAsync(Message(instance, $"m{i:D3}", at: T0.AddSeconds(i)), Cancel)));

        Assert.Single(await Store.GetMessagesAsync(instance, "chat-1", 0, cancellationToken: Cancel));
        Assert.Single(await Store.GetMessagesAsync(instance, "chat-1", -5, cancellationToken: Cancel));
        Assert.Equal(500, (await Store.GetMessagesAsync(instance, "chat-1", 10_000, cancellationToken: Cancel)).Count);
    }

    [Fact]
    public async Task GetChats_SeveralChats_NewestActivityFirstWithCountsNamesAndLastMessage()
    {
        var instance = NewInstance();
        // chat-a: inbound from Anna, then our reply (latest) -> name Anna, last from me.
        await Store.TryInsertAsync(Message(instance, "a1", "chat-a", T0, contactName: "Anna old"), Cancel);
        await Store.TryInsertAsync(Message(instance, "a2", "chat-a", T0.AddMinutes(1), contactName: "Anna"), Cancel);
        await Store.TryInsertAsync(Message(instance, "a3", "chat-a", T0.AddMinutes(5), fromMe: true, contactName: "not a name"), Cancel);
        // chat-b: a single outbound message, most recent of all -> no name.
        await Store.TryInsertAsync(Message(instance, "b1", "chat-b", T0.AddMinutes(10), fromMe: true), Cancel);
        // group-c: oldest activity, group -> IsGroup, no contact name as chat name.
        await Store.TryInsertAsync(Message(instance, "c1", "group-c", T0.AddSeconds(-10), group: true, contactName: "Member", from: "member@c.us"), Cancel);
        await Store.TryInsertAsync(Message(instance, "c2", "group-c", T0.AddSeconds(-5), group: true, contactName: "Member", from: "member@c.us"), Cancel);
        await Store.TryInsertAsync(Message(NewInstance(), "x1", "chat-x", T0.AddHours(1)), Cancel);

        var chats = await Store.GetChatsAsync(instance, 10, 0, Cancel);

        Assert.Equal(
        [
            new ChatSummary("chat-b", null, false, 1, T0.AddMinutes(10), "body b1", true),
            new ChatSummary("chat-a", "Anna", false, 3, T0.AddMinutes(5), "body a3", true),
            new ChatSummary("group-c", null, true, 2, T0.AddSeconds(-5), "body c2", false),
        ], chats);
        Assert.Equal(["chat-a"], (await Store.GetChatsAsync(instance, 1, 1, Cancel)).Select(c => c.ChatId));
        Assert.Empty(await Store.GetChatsAsync(instance, 10, 3, Cancel));
    }

    [Fact]
    public async Task GetContacts_PrivateInboundSenders_MostRecentFirstWithLatestName()
    {
        var instance = NewInstance();
        await Store.TryInsertAsync(Message(instance, "a1", "anna@c.us", T0, contactName: "Anna"), Cancel);
        await Store.TryInsertAsync(Message(instance, "a2", "anna@c.us", T0.AddMinutes(3), contactName: "Anna K"), Cancel);
        await Store.TryInsertAsync(Message(instance, "a3", "anna@c.us", T0.AddMinutes(4)), Cancel);
        await Store.TryInsertAsync(Message(instance, "b1", "boris@c.us", T0.AddMinutes(2), contactName: "Boris"), Cancel);
        await Store.TryInsertAsync(Message(instance, "me1", "carl@c.us", T0.AddMinutes(9), fromMe: true), Cancel);
        await Store.TryInsertAsync(Message(instance, "g1", "group@g.us", T0.AddMinutes(9), group: true, contactName: "Member", from: "member@c.us"), Cancel);

        var contacts = await Store.GetContactsAsync(instance, 10, 0, Cancel);

        Assert.Equal(
        [
            new ContactSummary("anna@c.us", "Anna K", T0.AddMinutes(4)),
            new ContactSummary("boris@c.us", "Boris", T0.AddMinutes(2)),
        ], contacts);
        Assert.Equal(["boris@c.us"], (await Store.GetContactsAsync(instance, 5, 1, Cancel)).Select(c => c.ContactId));
    }

    [Fact]
    public async Task UpdateAck_BackwardAfterForward_IsIgnored()
    {
        var instance = NewInstance();
        await Store.TryInsertAsync(Message(instance, "m1", fromMe: true) with { Ack = MessageAck.Pending }, Cancel);

        await Store.UpdateAckAsync(instance, "m1", MessageAck.Delivered, Cancel);
        Assert.Equal(MessageAck.Delivered, (await Store.GetAsync(instance, "m1", Cancel))!.Ack);

        await Store.UpdateAckAsync(instance, "m1", MessageAck.Sent, Cancel);
        await Store.UpdateAckAsync(instance, "m1", MessageAck.Pending, Cancel);
        await Store.UpdateAckAsync(instance, "m1", MessageAck.None, Cancel);
        Assert.Equal(MessageAck.Delivered, (await Store.GetAsync(instance, "m1", Cancel))!.Ack);

        await Store.UpdateAckAsync(instance, "m1", MessageAck.Read, Cancel);
        Assert.Equal(MessageAck.Read, (await Store.GetAsync(instance, "m1", Cancel))!.Ack);
    }

    [Fact]
    public async Task UpdateAck_Failed_AppliesAnyTimeAndLaterDeliveryStillLands()
    {
        var instance = NewInstance();
        await Store.TryInsertAsync(Message(instance, "m1", fromMe: true) with { Ack = MessageAck.Read }, Cancel);
        await Store.UpdateAckAsync(instance, "m1", MessageAck.Failed, Cancel);
        Assert.Equal(MessageAck.Failed, (await Store.GetAsync(instance, "m1", Cancel))!.Ack);

        await Store.UpdateAckAsync(instance, "m1", MessageAck.Pending, Cancel);
        Assert.Equal(MessageAck.Failed, (await Store.GetAsync(instance, "m1", Cancel))!.Ack);

        await Store.UpdateAckAsync(instance, "m1", MessageAck.Sent, Cancel);
        Assert.Equal(MessageAck.Sent, (await Store.GetAsync(instance, "m1", Cancel))!.Ack);
    }

    [Fact]
    public async Task UpdateAck_UnknownMessage_DoesNothing()
    {
        var instance = NewInstance();
        await Store.UpdateAckAsync(instance, "nope", MessageAck.Read, Cancel);
        Assert.Equal(0, await Store.CountAsync(instance, Cancel));
    }

    [Fact]
    public async Task Outbox_NewMessages_UnpublishedOldestFirstUntilMarkedPublished()
    {
        var instance = NewInstance();
        // Insertion order decides, not the messenger timestamp.
        await Store.TryInsertAsync(Message(instance, "m1", at: T0.AddMinutes(5)), Cancel);
        await Store.TryInsertAsync(Message(instance, "m2", at: T0), Cancel);
        await Store.TryInsertAsync(Message(instance, "m3", at: T0.AddMinutes(1)), Cancel);
        await Store.TryInsertAsync(Message(instance, "m1", at: T0.AddMinutes(9)), Cancel); // duplicate: no second outbox entry

        Assert.Equal(["m1", "m2", "m3"], await UnpublishedIds(instance));

        await Store.MarkPublishedAsync(instance, "m2", Cancel);
        await Store.MarkPublishedAsync(instance, "m2", Cancel);
        await Store.MarkPublishedAsync(instance, "unknown", Cancel);
        Assert.Equal(["m1", "m3"], await UnpublishedIds(instance));

        await Store.MarkPublishedAsync(instance, "m1", Cancel);
        await Store.MarkPublishedAsync(instance, "m3", Cancel);
        Assert.Empty(await UnpublishedIds(instance));
        Assert.Equal(3, await Store.CountAsync(instance, Cancel));
    }

    [Fact]
    public async Task Outbox_MarkPublishedBatch_MarksExactlyTheListedMessages()
    {
        var instance = NewInstance();
        var other = NewInstance();
        foreach (var id in new[] { "m1", "m2", "m3", "m4" })
        {
            await Store.TryInsertAsync(Message(instance, id), Cancel);
        }

        await Store.TryInsertAsync(Message(other, "m2"), Cancel);

        await Store.MarkPublishedAsync([], Cancel);
        await Store.MarkPublishedAsync([new MessageKey(instance, "m1"), new MessageKey(instance, "m3"), new MessageKey(instance, "m3"), new MessageKey(instance, "unknown"), new MessageKey(other, "m1")], Cancel);
        Assert.Equal(["m2", "m4"], await UnpublishedIds(instance));
        Assert.Equal(["m2"], await UnpublishedIds(other)); // the same message id of another instance stays unpublished
    }

    [Fact]
    public async Task ClientMessageId_Stored_ReturnedByEveryRead()
    {
        var instance = NewInstance();
        Assert.Equal("message_client_ids", await AppliedMigrationAsync(5));
        await Store.TryInsertAsync(Message(instance, "sent-1", fromMe: true) with { ClientMessageId = "client-1" }, Cancel);
        await Store.TryInsertAsync(Message(instance, "in-1", at: T0.AddSeconds(1)), Cancel);

        Assert.Equal("client-1", (await Store.GetAsync(instance, "sent-1", Cancel))!.ClientMessageId);
        Assert.Null((await Store.GetAsync(instance, "in-1", Cancel))!.ClientMessageId);
        var history = await Store.GetMessagesAsync(instance, "chat-1", 10, cancellationToken: Cancel);
        Assert.Equal([null, "client-1"], history.Select(m => m.ClientMessageId));
        Assert.Equal("client-1", Assert.Single(await Store.GetUnpublishedAsync(500, Cancel), m => m.InstanceId == instance && m.IsFromMe).ClientMessageId);
    }

    [Fact]
    public async Task Outbox_Limit_ReturnsOldestPage()
    {
        var instance = NewInstance();
        for (var i = 0; i < 5; i++)
        {
            await Store.TryInsertAsync(Message(instance, $"m{i}"), Cancel);
        }

        var page = await Store.GetUnpublishedAsync(2, Cancel);
        Assert.Equal(["m0", "m1"], page.Select(m => m.MessageId));
    }

    [Fact]
    public async Task DeleteInstance_WithMessages_RemovesOnlyThatInstance()
    {
        var instance = NewInstance();
        var other = NewInstance();
        for (var i = 0; i < 3; i++)
        {
            await Store.TryInsertAsync(Message(instance, $"m{i}"), Cancel);
        }

        await Store.TryInsertAsync(Message(other, "m0"), Cancel);

        await Store.DeleteInstanceAsync(instance, Cancel);

        Assert.Equal(0, await Store.CountAsync(instance, Cancel));
        Assert.Empty(await Store.GetChatsAsync(instance, 10, 0, Cancel));
        Assert.Null(await Store.GetAsync(instance, "m0", Cancel));
        Assert.Equal(1, await Store.CountAsync(other, Cancel));
        Assert.True(await Store.TryInsertAsync(Message(instance, "m0"), Cancel));
    }

    [Fact]
    public async Task TryInsert_MissingIds_ThrowsArgumentException()
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TryInsertAsync(Message(NewInstance(), ""), Cancel));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TryInsertAsync(Message("", "m1"), Cancel));
    }

    private async Task<List<string>> UnpublishedIds(string instance)
        => (await Store.GetUnpublishedAsync(500, Cancel)).Where(m => m.InstanceId == instance).Select(m => m.MessageId).ToList();
}
