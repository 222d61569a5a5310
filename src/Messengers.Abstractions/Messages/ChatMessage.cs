using Messengers.Runtime;

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
    public required string InstanceId { get; init; }
    public required string MessageId { get; init; }
    public required string ChatId { get; init; }
    public string? From { get; init; }
    public string? To { get; init; }
    public string Body { get; init; } = "";
    public string Type { get; init; } = MessageTypes.Text;
    public bool IsFromMe { get; init; }
    public bool IsGroup { get; init; }
    public string? GroupId { get; init; }
    public string? ContactName { get; init; }
    public string? AgentId { get; init; }
    public string? SessionId { get; init; }
    public string? ReplyToMessageId { get; init; }
    public MediaRef? Media { get; init; }
    public MessageAck Ack { get; init; }

    /// <summary>The sender's idempotency key of a message we sent (<see cref="Providers.OutgoingMessage.ClientMessageId"/>); null otherwise.</summary>
    public string? ClientMessageId { get; init; }

    /// <summary>When the message was sent, as the messenger reports it.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>When we stored it.</summary>
    public DateTimeOffset CreatedAt { get; init; }
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
