using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Data.DeadLetters;

namespace Messengers.Agents.Turns;

/// <summary>The rules of an agent turn that need no grain: debounce timing, the turn's text, what is worth retrying.</summary>
public static class AgentTurns
{
    /// <summary>A debounced turn waits at most this many debounce times after its first message.</summary>
    public const int MaxDebounceFactor = 3;

    /// <summary>
    /// When a debounced turn goes to the agent: once the user has been quiet for <paramref name="debounce"/>, but no
    /// later than <see cref="MaxDebounceFactor"/> times that after its first message, so a user who keeps typing is
    /// still answered.
    /// </summary>
    public static DateTimeOffset DebounceDue(DateTimeOffset firstArrival, DateTimeOffset lastArrival, TimeSpan debounce)
    {
        var quiet = lastArrival + debounce;
        var latest = firstArrival + (debounce * MaxDebounceFactor);
        return quiet < latest ? quiet : latest;
    }

    /// <summary>The user turn of a batch: the bodies in order, one per line (empty bodies, e.g. media only, left out).</summary>
    public static string TurnText(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return messages.Count == 1 ? messages[0].Body : string.Join("\n", messages.Select(m => m.Body).Where(b => !string.IsNullOrWhiteSpace(b)));
    }

    /// <summary>Transient failures (agent down, slow, overloaded; our own storage or grains busy) are worth another call; a rejected or misconfigured call is not.</summary>
    public static bool IsWorthRetrying(Exception failure) => failure switch
    {
        AgentCallFailedException agent => agent.Reason switch
        {
            AgentFailureReason.Timeout or AgentFailureReason.ConnectionFailed or AgentFailureReason.CircuitOpen => true,
            AgentFailureReason.HttpStatus => agent.LastStatusCode is null or >= 500 or 408 or 429,
            _ => false,
        },
        _ => true,
    };

    /// <summary>
    /// The turn a dead letter stands for: its text with the first of its media, then one message per further medium
    /// (empty bodies, which the turn's text leaves out), so the agent gets the same text and attachments as before.
    /// </summary>
    public static List<ChatMessage> TurnOf(AgentDeadLetter deadLetter)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        ChatMessage Part(string body, MediaRef? media) => new()
        {
            InstanceId = deadLetter.InstanceId,
            MessageId = deadLetter.MessageId,
            ChatId = deadLetter.ChatId,
            From = deadLetter.From,
            IsGroup = deadLetter.IsGroup,
            Body = body,
            Media = media,
        };

        return [Part(deadLetter.Text, deadLetter.Media.Count > 0 ? deadLetter.Media[0] : null), .. deadLetter.Media.Skip(1).Select(media => Part("", media))];
    }

    /// <summary>Where and how the instance's agent is called.</summary>
    public static AgentEndpoint Endpoint(AgentSettings agent, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new(agent.BaseUrl ?? "")
        {
            ApiKey = apiKey,
            Shape = Enum.TryParse<AgnoShape>(agent.Shape, ignoreCase: true, out var shape) ? shape : AgnoShape.AgentOs,
            Stream = agent.Stream,
            Timeout = TimeSpan.FromSeconds(Math.Clamp(agent.TimeoutSeconds, 1, 600)),
            Model = agent.Model,
            SystemPrompt = agent.SystemPrompt,
        };
    }
}
