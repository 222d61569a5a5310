using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Instances;

/// <summary>One dialog (key: <c>{instanceId}/{chatId}</c>, see <see cref="ChatKey"/>).</summary>
public interface IChatSessionGrain : IGrainWithStringKey
{
    /// <summary>Stores an incoming message once (dedupe on its id) and publishes it on the chat's stream. False for a duplicate.</summary>
    Task<bool> ReceiveAsync(InboundMessage message);

    /// <summary>Sends through the provider, stores and publishes. A repeated ClientMessageId returns the first result.</summary>
    Task<ChatMessage> SendAsync(OutgoingMessage message);

    [ReadOnly]
    Task<IReadOnlyList<ChatMessage>> GetRecentAsync(int count);

    /// <summary>Pauses or resumes the agent in this chat (a human takes over, then hands back).</summary>
    Task SetAgentPausedAsync(bool paused);

    [ReadOnly]
    Task<bool> IsAgentPausedAsync();
}
