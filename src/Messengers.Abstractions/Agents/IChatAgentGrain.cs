using Messengers.Abstractions.Messages;
using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Agents;

/// <summary>
/// The agent turn of one chat (key: <c>{instanceId}/{chatId}</c>): it consumes the chat's inbound stream, debounces,
/// calls the instance's agent, retries with backoff, sends the reply through the chat and dead-letters what keeps
/// failing. The pending turn survives a crash: it is answered after the restart, once.
/// </summary>
public interface IChatAgentGrain : IGrainWithStringKey
{
    /// <summary>Runs the agent again for a dead-lettered turn and sends its reply; true when the agent answered.</summary>
    Task<bool> RetryDeadLetterAsync(long deadLetterId);

    /// <summary>Messages waiting for the agent in this chat (queued, debouncing, in a call or waiting for a retry).</summary>
    Task<int> GetPendingCountAsync();

    /// <summary>
    /// The chat told its agent that a human took over (or handed back), so that a turn does not have to ask. Interleaves:
    /// the agent's own keyword handling waits on the chat that makes this call.
    /// </summary>
    [AlwaysInterleave]
    Task AgentPausedChangedAsync(bool paused);
}
