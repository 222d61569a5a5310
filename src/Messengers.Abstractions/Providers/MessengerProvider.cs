using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Providers;

/// <summary>What a provider can do; the API answers "not supported by this provider" for the rest.</summary>
[Flags]
public enum ProviderCapabilities
{
    None = 0,
    Text = 1,
    Media = 2,
    Groups = 4,
    History = 8,
    QrPairing = 16,
    Typing = 32,
    ReadReceipts = 64,
    Reactions = 128,
    Contacts = 256,
}

public static class ProviderCapabilityNames
{
    // A provider's set never changes, and instances are described with every message: each set is named once.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ProviderCapabilities, IReadOnlyList<string>> Named = new();

    public static IReadOnlyList<string> Of(ProviderCapabilities capabilities)
        => Named.GetOrAdd(capabilities, static set => Enum.GetValues<ProviderCapabilities>()
            .Where(c => c != ProviderCapabilities.None && set.HasFlag(c))
            .Select(c => JsonNamingPolicyCamel(c.ToString()))
            .ToList()
            .AsReadOnly());

    private static string JsonNamingPolicyCamel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}

/// <summary>A messenger kind ("webchat", "telegram", "whatsapp-web", …): validates configuration and opens connections.</summary>
public interface IMessengerProvider
{
    string Name { get; }

    ProviderCapabilities Capabilities { get; }

    /// <summary>The longest text one message may carry; longer agent replies are split.</summary>
    int MaxTextLength => 4096;

    /// <summary>Problems with the credentials and settings, by field name; empty when valid.</summary>
    IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings);

    /// <summary>Whether <paramref name="chatId"/> is a well-formed chat id for this messenger.</summary>
    bool IsValidChatId(string chatId);

    IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks);

    /// <summary>
    /// Deletes what the provider keeps for an instance beyond the instance's own state (saved sessions, webhook
    /// secrets, caches); called when the instance is deleted, after its connection stopped.
    /// </summary>
    Task ForgetInstanceAsync(string instanceId, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A live connection of one instance, owned by its ProviderClientGrain.</summary>
public interface IMessengerConnection : IAsyncDisposable
{
    /// <summary>Begins connecting; progress is reported through the callbacks.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>Ends the session with the messenger (forgets the pairing) where that exists.</summary>
    Task LogoutAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken);

    Task MarkReadAsync(string chatId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("read receipts");

    Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("typing");

    /// <summary>Reacts to a message with <paramref name="emoji"/>; an empty emoji removes our reaction.</summary>
    Task ReactAsync(string chatId, string messageId, string emoji, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("reactions");

    /// <summary>The chats the messenger knows, most recently active first.</summary>
    Task<IReadOnlyList<MessengerChat>> GetChatsAsync(int limit, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("listing chats");

    Task<IReadOnlyList<MessengerContact>> GetContactsAsync(CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("contacts");

    /// <summary>One contact by either of its ids; null when the messenger does not know it.</summary>
    Task<MessengerContact?> GetContactAsync(string contactId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("contacts");

    Task<GroupCreated> CreateGroupAsync(string name, IReadOnlyList<string> participants, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("creating groups");

    /// <summary>A group's subject, participants and admins; null when there is no such group.</summary>
    Task<GroupInfo?> GetGroupAsync(string groupId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("groups");

    Task<IReadOnlyList<ParticipantResult>> AddParticipantsAsync(string groupId, IReadOnlyList<string> participants, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("adding group participants");

    Task<IReadOnlyList<ParticipantResult>> RemoveParticipantsAsync(string groupId, IReadOnlyList<string> participants, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("removing group participants");

    Task LeaveGroupAsync(string groupId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("leaving groups");

    /// <summary>
    /// Up to <paramref name="count"/> messages of a chat from the messenger (own ones included), older than
    /// <paramref name="beforeMessageId"/> or the latest when it is null. Ids are the ones sends return.
    /// </summary>
    Task<IReadOnlyList<InboundMessage>> FetchHistoryAsync(string chatId, int count, string? beforeMessageId, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("message history");

    /// <summary>Pairing by phone number instead of QR: the code the user types on the phone (<paramref name="phoneNumber"/>: digits only).</summary>
    Task<string> RequestPairingCodeAsync(string phoneNumber, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("pairing by phone code");

    /// <summary>
    /// Input pushed from outside (a visitor's post, a webhook delivery): authenticates and parses it, and hands what it
    /// carries to <see cref="IConnectionCallbacks.OnMessageAsync"/> (stored before this returns).
    /// </summary>
    Task<InboundResult> ReceiveAsync(ProviderInbound inbound, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("receiving pushed input");
}

/// <summary>How a connection reports back to its grains.</summary>
public interface IConnectionCallbacks
{
    Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null);

    Task OnQrAsync(QrCodeInfo? qr);

    /// <summary>An incoming message. It is acknowledged upstream only after this completes (it is stored by then).</summary>
    Task OnMessageAsync(InboundMessage message);

    Task OnAckAsync(string messageId, MessageAck ack);
}

/// <summary>A message as a provider delivers it.</summary>
[GenerateSerializer, Immutable, Alias("messengers.InboundMessage")]
public sealed record InboundMessage
{
    [Id(0)] public required string MessageId { get; init; }
    [Id(1)] public required string ChatId { get; init; }
    [Id(2)] public string? From { get; init; }
    [Id(3)] public string Body { get; init; } = "";
    [Id(4)] public string Type { get; init; } = MessageTypes.Text;
    [Id(5)] public bool IsFromMe { get; init; }
    [Id(6)] public bool IsGroup { get; init; }
    [Id(7)] public string? GroupId { get; init; }
    [Id(8)] public string? ContactName { get; init; }
    [Id(9)] public string? ReplyToMessageId { get; init; }
    [Id(10)] public MediaRef? Media { get; init; }
    [Id(11)] public DateTimeOffset Timestamp { get; init; }

    /// <summary>The row this message is stored as in <paramref name="chatId"/> of <paramref name="instanceId"/>; a missing timestamp becomes <paramref name="now"/>.</summary>
    public ChatMessage ToStored(string instanceId, string chatId, DateTimeOffset now) => new()
    {
        InstanceId = instanceId,
        MessageId = MessageId,
        ChatId = chatId,
        From = From,
        Body = Body,
        Type = Type,
        IsFromMe = IsFromMe,
        IsGroup = IsGroup,
        GroupId = GroupId,
        ContactName = ContactName,
        ReplyToMessageId = ReplyToMessageId,
        Media = Media,
        Timestamp = Timestamp == default ? now : Timestamp,
        CreatedAt = now,
    };
}

/// <summary>A message to send. <see cref="ClientMessageId"/> makes a send idempotent: the same id is sent once.</summary>
[GenerateSerializer, Immutable, Alias("messengers.OutgoingMessage")]
public sealed record OutgoingMessage
{
    [Id(0)] public required string ChatId { get; init; }
    [Id(1)] public string Text { get; init; } = "";
    [Id(2)] public MediaRef? Media { get; init; }
    [Id(3)] public string? ReplyToMessageId { get; init; }
    [Id(4)] public string? ClientMessageId { get; init; }
    [Id(5)] public string? AgentId { get; init; }
    [Id(6)] public string? SessionId { get; init; }

    /// <summary>Provider-specific options (for example Telegram's parse mode or silent sending).</summary>
    [Id(7)] public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
}

[GenerateSerializer, Immutable, Alias("messengers.SendResult")]
public sealed record SendResult(string MessageId, DateTimeOffset Timestamp);

/// <summary>The provider of this instance cannot do what was asked.</summary>
[GenerateSerializer, Alias("messengers.CapabilityNotSupportedException")]
public sealed class CapabilityNotSupportedException : Exception
{
    public CapabilityNotSupportedException() { }
    public CapabilityNotSupportedException(string capability) : base($"{capability} is not supported by this provider.") { }
    public CapabilityNotSupportedException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The instance is not in a state that can do this (not running, not paired).</summary>
[GenerateSerializer, Alias("messengers.InstanceNotReadyException")]
public sealed class InstanceNotReadyException : Exception
{
    public InstanceNotReadyException() { }
    public InstanceNotReadyException(string message) : base(message) { }
    public InstanceNotReadyException(string message, Exception inner) : base(message, inner) { }
}
