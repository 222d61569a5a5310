using Messengers.Abstractions.Messages;
using Orleans;

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
}
