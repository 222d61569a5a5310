using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Runtime;

namespace Messengers.Abstractions.Instances;

/// <summary>The live connection of one instance (key: instance id); one activation in the cluster.</summary>
public interface IProviderClientGrain : IGrainWithStringKey
{
    /// <summary>Opens the connection with <paramref name="config"/> (returns once it is starting; progress is reported to the InstanceGrain).</summary>
    Task StartAsync(ConnectionConfig config);

    Task StopAsync();

    Task LogoutAsync();

    Task<SendResult> SendAsync(OutgoingMessage message);

    Task MarkReadAsync(string chatId);

    Task SetTypingAsync(string chatId, bool typing);

    /// <summary>Asks the connection for a phone pairing code (see <see cref="IInstanceGrain.RequestPairingCodeAsync"/>).</summary>
    Task<string> RequestPairingCodeAsync(string phoneNumber);

    [ReadOnly]
    Task<bool> IsConnectedAsync();

    /// <summary>Reacts to a message; an empty emoji removes the reaction.</summary>
    Task ReactAsync(string chatId, string messageId, string emoji);

    [ReadOnly]
    Task<IReadOnlyList<MessengerChat>> GetChatsAsync(int limit);

    [ReadOnly]
    Task<IReadOnlyList<MessengerContact>> GetContactsAsync();

    [ReadOnly]
    Task<MessengerContact?> GetContactAsync(string contactId);

    Task<GroupCreated> CreateGroupAsync(string name, IReadOnlyList<string> participants);

    [ReadOnly]
    Task<GroupInfo?> GetGroupAsync(string groupId);

    Task<IReadOnlyList<ParticipantResult>> AddParticipantsAsync(string groupId, IReadOnlyList<string> participants);

    Task<IReadOnlyList<ParticipantResult>> RemoveParticipantsAsync(string groupId, IReadOnlyList<string> participants);

    Task LeaveGroupAsync(string groupId);

    /// <summary>Fetches older messages of a chat from the messenger and stores the new ones (not published: the agent does not answer history).</summary>
    Task<HistoryFetched> FetchHistoryAsync(string chatId, int count, string? beforeMessageId);
}

/// <summary>One dialog (key: <c>{instanceId}/{chatId}</c>, see <see cref="ChatKey"/>).</summary>
public interface IChatSessionGrain : IGrainWithStringKey
{
    /// <summary>Stores an incoming message once (dedupe on its id) and publishes it. False for a duplicate.</summary>
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

public static class ChatKey
{
    public static string For(string instanceId, string chatId) => $"{instanceId}/{chatId}";

    public static (string InstanceId, string ChatId) Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (key[..slash], key[(slash + 1)..]);
    }
}

/// <summary>Stream namespaces of the message path.</summary>
public static class MessageStreams
{
    /// <summary>Stored incoming messages, key = instance id; item <see cref="ChatMessage"/>.</summary>
    public const string Inbound = "inbound";

    /// <summary>Stored outgoing messages and acks, key = instance id; item <see cref="ChatMessage"/>.</summary>
    public const string Outbound = "outbound";

    /// <summary>Instance status changes, key = instance id; item <see cref="InstanceInfo"/>.</summary>
    public const string Status = "status";
}
