using Messengers.Abstractions.Messages;
using Messengers.Agents.Turns;
using Messengers.Data.DeadLetters;

namespace Messengers.Agents.Tests.Turns;

/// <summary>What a retried dead letter sends the agent, and which stored messages count as turns.</summary>
public sealed class AgentDeadLetterTurnTests
{
    private static AgentDeadLetter DeadLetter(params MediaRef[] media) => new()
    {
        InstanceId = "inst",
        ChatId = "chat-1",
        MessageId = "m1",
        MessageIds = ["m1", "m2"],
        From = "user-1",
        Text = "look at these\nplease",
        Media = media,
        Backend = "agno",
        Reason = "HttpStatus",
        Error = "HTTP 503",
    };

    [Fact]
    public void TurnOf_TwoMedia_SameTextAndBothMediaInOrder()
    {
        MediaRef photo = new("p1", "image/jpeg", null, 10);
        MediaRef document = new("d1", "application/pdf", "a.pdf", 20);

        var turn = AgentTurns.TurnOf(DeadLetter(photo, document));

        Assert.Equal("look at these\nplease", AgentTurns.TurnText(turn));
        Assert.Equal([photo, document], turn.Select(m => m.Media));
        Assert.All(turn, m => Assert.Equal(("inst", "chat-1", "m1", "user-1"), (m.InstanceId, m.ChatId, m.MessageId, m.From)));
    }

    [Fact]
    public void TurnOf_NoMedia_OneMessageWithTheText()
    {
        var message = Assert.Single(AgentTurns.TurnOf(DeadLetter()));

        Assert.Equal(("look at these\nplease", (MediaRef?)null), (message.Body, message.Media));
    }

    [Fact]
    public void IsTurn_Reaction_NotATurnOtherTypesAre()
    {
        var text = new ChatMessage { InstanceId = "inst", MessageId = "m1", ChatId = "chat-1", Body = "hi" };

        Assert.True(AgentChatFilter.IsTurn(text));
        Assert.True(AgentChatFilter.IsTurn(text with { Type = MessageTypes.Image }));
        Assert.False(AgentChatFilter.IsTurn(text with { Type = MessageTypes.Reaction, Body = "👍" }));
    }
}
