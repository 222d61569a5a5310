using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Messages;

/// <summary>The kinds of message body; stored as lower-case text.</summary>
public static class MessageTypes
{
    public const string Text = "text";
    public const string Image = "image";
    public const string Video = "video";
    public const string Audio = "audio";
    public const string Voice = "voice";
    public const string Document = "document";
    public const string Sticker = "sticker";
    public const string Location = "location";
    public const string Contact = "contact";
    public const string Reaction = "reaction";
    public const string System = "system";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        Text, Image, Video, Audio, Voice, Document, Sticker, Location, Contact, Reaction, System,
    };
}

/// <summary>Delivery state of a message we sent.</summary>
public enum MessageAck
{
    None,
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

public static class MessageAckNames
{
    /// <summary>The lower-case name of an ack, as stored and as webhooks show it.</summary>
    public static string Of(MessageAck ack) => ack switch
    {
        MessageAck.None => "none",
        MessageAck.Pending => "pending",
        MessageAck.Sent => "sent",
        MessageAck.Delivered => "delivered",
        MessageAck.Read => "read",
        MessageAck.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(ack), ack, "Unknown message ack."),
    };
}

/// <summary>A media file kept in the media store; the bytes live there, not in the message row.</summary>
[GenerateSerializer, Immutable, Alias("messengers.MediaRef")]
public sealed record MediaRef(string MediaId, string ContentType, string? FileName, long Size, string? Sha256 = null);

/// <summary>
/// One stored message, in or out. Columns follow the seed schema (instance_id, message_id, chat_id, from, to, body,
/// type, is_from_me, is_group, group_id, contact_name, agent_id, session_id, timestamp, created_at) plus media,
/// reply and ack. (InstanceId, MessageId) is unique.
/// </summary>
[GenerateSerializer, Immutable, Alias("messengers.ChatMessage")]
public sealed record ChatMessage
{
    [Id(0)] public required string InstanceId { get; init; }
    [Id(1)] public required string MessageId { get; init; }
    [Id(2)] public required string ChatId { get; init; }
    [Id(3)] public string? From { get; init; }
    [Id(4)] public string? To { get; init; }
    [Id(5)] public string Body { get; init; } = "";
    [Id(6)] public string Type { get; init; } = MessageTypes.Text;
    [Id(7)] public bool IsFromMe { get; init; }
    [Id(8)] public bool IsGroup { get; init; }
    [Id(9)] public string? GroupId { get; init; }
    [Id(10)] public string? ContactName { get; init; }
    [Id(11)] public string? AgentId { get; init; }
    [Id(12)] public string? SessionId { get; init; }
    [Id(13)] public string? ReplyToMessageId { get; init; }
    [Id(14)] public MediaRef? Media { get; init; }
    [Id(15)] public MessageAck Ack { get; init; }

    /// <summary>The sender's idempotency key of a message we sent (<see cref="Providers.OutgoingMessage.ClientMessageId"/>); null otherwise.</summary>
    [Id(16)] public string? ClientMessageId { get; init; }

    /// <summary>When the message was sent, as the messenger reports it.</summary>
    [Id(17)] public DateTimeOffset Timestamp { get; init; }

    /// <summary>When we stored it.</summary>
    [Id(18)] public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A chat as listed from the store: the latest message and counts.</summary>
[GenerateSerializer, Immutable, Alias("messengers.ChatSummary")]
public sealed record ChatSummary(
    string ChatId,
    string? Name,
    bool IsGroup,
    int MessageCount,
    DateTimeOffset LastMessageAt,
    string? LastMessageBody,
    bool LastMessageFromMe);

/// <summary>A contact as known from the store (the people who wrote to or were written to by this instance).</summary>
[GenerateSerializer, Immutable, Alias("messengers.ContactSummary")]
public sealed record ContactSummary(string ContactId, string? Name, DateTimeOffset LastSeenAt);
