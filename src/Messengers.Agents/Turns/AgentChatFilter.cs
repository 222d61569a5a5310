using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;

namespace Messengers.Agents.Turns;

/// <summary>
/// Which chats an instance's agent answers: a chat is answered when the agent is enabled, the chat is not on the
/// deny-list, it is on the allow-list (when that list is not empty), and its kind (private or group) is switched on.
/// Chat ids are compared exactly (ordinal), as the provider reports them.
/// </summary>
public static class AgentChatFilter
{
    public const int MaxListedChats = 1000;
    public const int MaxChatIdLength = 256;
    public const int MaxDebounceSeconds = 300;

    public static bool Answers(AgentSettings agent, ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(message);
        if (!agent.Enabled || (agent.DenyChats?.Contains(message.ChatId, StringComparer.Ordinal) ?? false))
        {
            return false;
        }

        if (agent.AllowChats is { Count: > 0 } allow && !allow.Contains(message.ChatId, StringComparer.Ordinal))
        {
            return false;
        }

        return message.IsGroup ? agent.AnswerGroups : agent.AnswerPrivate;
    }

    /// <summary>
    /// Whether a stored message is something the user said to the agent: reactions are stored, counted and sent to
    /// webhooks, but are neither a turn nor part of the history the agent sees.
    /// </summary>
    public static bool IsTurn(ChatMessage message) => message?.Type != MessageTypes.Reaction;

    /// <summary>Adds what is wrong with the chat selection and debounce of <paramref name="agent"/> to <paramref name="errors"/> (keys <c>agent.*</c>).</summary>
    public static void Validate(AgentSettings agent, IDictionary<string, string[]> errors)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(errors);
        ValidateList(agent.AllowChats, "agent.allowChats", errors);
        ValidateList(agent.DenyChats, "agent.denyChats", errors);
        if (agent.AllowChats is { Count: > 0 } allow && agent.DenyChats is { Count: > 0 } deny)
        {
            var both = allow.Intersect(deny, StringComparer.Ordinal).Take(5).ToList();
            if (both.Count > 0)
            {
                errors["agent.denyChats"] = [$"Chats cannot be both allowed and denied: {string.Join(", ", both)}."];
            }
        }

        if (agent.DebounceSeconds is < 0 or > MaxDebounceSeconds)
        {
            errors["agent.debounceSeconds"] = [$"The debounce must be between 0 (off) and {MaxDebounceSeconds} seconds."];
        }
    }

    private static void ValidateList(IReadOnlyList<string>? chats, string field, IDictionary<string, string[]> errors)
    {
        if (chats is null)
        {
            errors[field] = ["Give a list of chat ids (an empty list for none), not null."];
            return;
        }

        var problems = new List<string>();
        if (chats.Count > MaxListedChats)
        {
            problems.Add($"At most {MaxListedChats} chat ids.");
        }

        if (chats.Any(c => string.IsNullOrWhiteSpace(c) || c.Length > MaxChatIdLength))
        {
            problems.Add($"Each chat id must be a non-blank string of at most {MaxChatIdLength} characters.");
        }

        var repeated = chats.Where(c => c is not null).GroupBy(c => c, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        if (repeated.Count > 0)
        {
            problems.Add($"Repeated chat ids: {string.Join(", ", repeated)}.");
        }

        if (problems.Count > 0)
        {
            errors[field] = [.. problems];
        }
    }
}
