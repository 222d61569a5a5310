using Messengers.Abstractions.Messages;

namespace Messengers.Agents.Turns;

/// <summary>
/// The agent turn of one chat as far as it must survive a crash: the messages not answered yet, how many of them the
/// turn in progress takes, its failed calls and when the next call is due, and a reply the agent gave but that could
/// not be sent yet. A turn answered at once by an agent needs none of it and writes nothing: its messages stay in the
/// message outbox until it is done, which replays them after a crash.
/// </summary>
[GenerateSerializer, Alias("messengers.ChatAgentState")]
public sealed class ChatAgentState
{
    /// <summary>Messages waiting for the agent, in arrival order; the turn in progress is the first <see cref="TurnSize"/> of them.</summary>
    [Id(0)] public List<QueuedMessage> Queue { get; set; } = [];

    /// <summary>How many queued messages the turn in progress answers; 0 before a turn is formed.</summary>
    [Id(1)] public int TurnSize { get; set; }

    /// <summary>Calls of the turn in progress that failed.</summary>
    [Id(2)] public int Attempts { get; set; }

    /// <summary>When the next call of a failed turn is due; null when none is waiting.</summary>
    [Id(3)] public DateTimeOffset? NextAttemptAt { get; set; }

    /// <summary>The agent's answer to the turn in progress when only sending it failed: it is sent without asking again.</summary>
    [Id(4)] public TurnAnswer? Answer { get; set; }

    public bool IsIdle => Queue.Count == 0;
}

/// <summary>A message waiting for the agent and when it arrived (debounce counts from arrivals).</summary>
[GenerateSerializer, Immutable, Alias("messengers.QueuedMessage")]
public sealed record QueuedMessage(ChatMessage Message, DateTimeOffset ArrivedAt);

/// <summary>What the agent answered, and the agent and session ids the reply is sent under.</summary>
[GenerateSerializer, Immutable, Alias("messengers.TurnAnswer")]
public sealed record TurnAnswer(string Text, string AgentId, string SessionId);
