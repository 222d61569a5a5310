using System.Text.Json;
using Messengers.Abstractions.Messages;
using Messengers.Data.Webhooks;
using Messengers.Webhooks;

namespace Messengers.Webhooks.Tests;

public sealed class WebhookReactionEventTests
{
    private static ChatMessage Reaction(string emoji) => WebhookEventTests.Inbound("i1", "r1") with
    {
        Type = MessageTypes.Reaction,
        Body = emoji,
        ReplyToMessageId = "m-reacted",
    };

    [Fact]
    public void FromInbound_Reaction_MessageReactionNotMessageReceived()
    {
        var evt = Assert.Single(WebhookEvent.FromInbound(Reaction("👍")));

        Assert.Equal(WebhookEventTypes.MessageReaction, evt.Type);
        Assert.Contains(WebhookEventTypes.MessageReaction, WebhookEventTypes.Known);
        Assert.False(WebhookEventTypes.Matches([WebhookEventTypes.MessageReceived], evt.Type));
        Assert.True(WebhookEventTypes.Matches([WebhookEventTypes.All], evt.Type));
        Assert.Equal(WebhookEventTypes.MessageReceived, Assert.Single(WebhookEvent.FromInbound(WebhookEventTests.Inbound("i1", "m1"))).Type);
    }

    [Fact]
    public void Render_ReactionAndRemoval_ReactionObjectNamesEmojiMessageAndRemoval()
    {
        using var added = JsonDocument.Parse(Assert.Single(WebhookEvent.FromInbound(Reaction("👍"))).Render(WebhookFormats.Envelope));
        using var removed = JsonDocument.Parse(Assert.Single(WebhookEvent.FromInbound(Reaction(""))).Render(WebhookFormats.Flat, "whatsapp-web"));
        using var text = JsonDocument.Parse(Assert.Single(WebhookEvent.FromInbound(WebhookEventTests.Inbound("i1", "m1"))).Render(WebhookFormats.Envelope));

        var data = added.RootElement.GetProperty("data");
        Assert.Equal("message.reaction", added.RootElement.GetProperty("event").GetString());
        Assert.Equal(("reaction", "👍", "m-reacted"), (data.GetProperty("type").GetString(), data.GetProperty("body").GetString(), data.GetProperty("replyTo").GetString()));
        var reaction = data.GetProperty("reaction");
        Assert.Equal(("👍", "m-reacted", false), (reaction.GetProperty("emoji").GetString(), reaction.GetProperty("messageId").GetString(), reaction.GetProperty("removed").GetBoolean()));

        var flat = removed.RootElement;
        Assert.Equal(("message.reaction", "reaction"), (flat.GetProperty("event").GetString(), flat.GetProperty("message_type").GetString()));
        Assert.Equal(("", "m-reacted", true), (flat.GetProperty("reaction").GetProperty("emoji").GetString(), flat.GetProperty("reaction").GetProperty("message_id").GetString(), flat.GetProperty("reaction").GetProperty("removed").GetBoolean()));

        Assert.False(text.RootElement.GetProperty("data").TryGetProperty("reaction", out _));
    }
}
