using Messengers.Abstractions.Messages;
using Messengers.Testing.Fakes.WhatsAppWeb;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>Incoming reactions (wa-js <c>chat.new_reaction</c>) in real Chromium against the fake page.</summary>
public sealed class WhatsAppWebReactionTests : WhatsAppWebTestBase
{
    private const string Ann = "5511888880000@c.us";
    private const string Group = "120363000000000001@g.us";
    private const string Bob = "5511777770000@c.us";

    /// <summary>
    /// The fake emits reactions the way wa-js 4.6 does; this checks the real bundle raises <c>chat.new_reaction</c> with the
    /// fields the bridge reads (it cannot run outside WhatsApp Web, so its source is read).
    /// </summary>
    [Fact]
    public async Task RealWaJs_NewReactionEvent_CarriesTheFieldsTheBridgeReads()
    {
        var bundle = Path.Combine(AppContext.BaseDirectory, "wa-js", "wppconnect-wa.js");
        Assert.SkipUnless(File.Exists(bundle), $"{bundle} is missing; run tests/setup-npm.sh");
        var source = await File.ReadAllTextAsync(bundle, Ct);

        var at = source.IndexOf("\"chat.new_reaction\",{", StringComparison.Ordinal);
        Assert.True(at >= 0, "wa-js no longer emits chat.new_reaction");
        var payload = source.Substring(at, Math.Min(400, source.Length - at));
        Assert.All(["id:", "msgId:", "reactionText:", "sender:", "timestamp:"], field => Assert.Contains(field, payload, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Receive_ReactionAddedThenRemoved_ReachCallbacksAsReactionMessages()
    {
        var callbacks = new RecordingCallbacks();
        var (_, page) = await PairedAsync(callbacks);
        var reactedTo = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new { from = Ann, body = "photo of the order" });
        await WaitUntilAsync(() => callbacks.Messages.Count == 1);
        var before = TimeProvider.System.GetUtcNow().AddSeconds(-1);

        var added = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.React, new { msgId = reactedTo, from = Ann, emoji = "👍" });
        var removed = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.React, new { msgId = reactedTo, from = Ann, emoji = "" });
        await WaitUntilAsync(() => callbacks.Messages.Count == 3);

        var messages = callbacks.Messages.ToArray();
        Assert.Equal((added, Ann, Ann, MessageTypes.Reaction, "👍", reactedTo, false), (messages[1].MessageId, messages[1].ChatId, messages[1].From, messages[1].Type, messages[1].Body, messages[1].ReplyToMessageId, messages[1].IsGroup));
        Assert.Equal((removed, MessageTypes.Reaction, "", reactedTo), (messages[2].MessageId, messages[2].Type, messages[2].Body, messages[2].ReplyToMessageId));
        Assert.NotEqual(added, removed);
        Assert.InRange(messages[1].Timestamp, before, TimeProvider.System.GetUtcNow().AddSeconds(1)); // the page's milliseconds read as such
    }

    [Fact]
    public async Task Receive_GroupReactionAndOwnReaction_GroupOnePassedOnWithItsSenderOwnOneNot()
    {
        var callbacks = new RecordingCallbacks();
        var (_, page) = await PairedAsync(callbacks);
        var reactedTo = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new { from = Group, author = Ann, body = "meeting at 3?" });
        await WaitUntilAsync(() => callbacks.Messages.Count == 1);

        await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.React, new { msgId = reactedTo, from = MyWid, emoji = "🙏", fromMe = true });
        var fromBob = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.React, new { msgId = reactedTo, from = Bob, emoji = "❤️" });
        await WaitUntilAsync(() => callbacks.Messages.Count >= 2);

        // Events are handled in order, so the own reaction (emitted first) would have arrived before Bob's.
        var reaction = callbacks.Messages.ToArray()[1];
        Assert.Equal(2, callbacks.Messages.Count);
        Assert.Equal((fromBob, Group, Bob, true, Group, "❤️", reactedTo), (reaction.MessageId, reaction.ChatId, reaction.From, reaction.IsGroup, reaction.GroupId, reaction.Body, reaction.ReplyToMessageId));
    }
}
