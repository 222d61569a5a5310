namespace Messengers.Abstractions.Messages;

/// <summary>
/// Messages and chats of all instances (table <c>messages</c>). PostgreSQL in production, SQLite embedded.
/// Inserting is the dedupe point: the same (instance, message id) is stored once, atomically.
/// </summary>
public interface IMessageStore
{
    /// <summary>Stores the message unless one with the same (instance, message id) exists. True when it was inserted.</summary>
    Task<bool> TryInsertAsync(ChatMessage message, CancellationToken cancellationToken = default);

    Task<ChatMessage?> GetAsync(string instanceId, string messageId, CancellationToken cancellationToken = default);

    /// <summary>Messages of one chat, newest first; <paramref name="before"/> pages backwards (exclusive, by timestamp then id).</summary>
    Task<IReadOnlyList<ChatMessage>> GetMessagesAsync(string instanceId, string chatId, int limit, MessageCursor? before = null, CancellationToken cancellationToken = default);

    /// <summary>Chats of one instance, most recently active first.</summary>
    Task<IReadOnlyList<ChatSummary>> GetChatsAsync(string instanceId, int limit, int offset, CancellationToken cancellationToken = default);

    /// <summary>Everyone who exchanged messages with this instance in private chats, most recent first.</summary>
    Task<IReadOnlyList<ContactSummary>> GetContactsAsync(string instanceId, int limit, int offset, CancellationToken cancellationToken = default);

    Task UpdateAckAsync(string instanceId, string messageId, MessageAck ack, CancellationToken cancellationToken = default);

    /// <summary>Marks a stored message as published to its stream: it leaves the outbox (SQLite: a flag; PostgreSQL: a row of message_outbox).</summary>
    Task MarkPublishedAsync(string instanceId, string messageId, CancellationToken cancellationToken = default)
        => MarkPublishedAsync([new MessageKey(instanceId, messageId)], cancellationToken);

    /// <summary>Marks stored messages as published, in one write; unknown or already marked ones are skipped.</summary>
    Task MarkPublishedAsync(IReadOnlyCollection<MessageKey> messages, CancellationToken cancellationToken = default);

    /// <summary>Stored but not yet published messages, oldest first: republished at start-up so a crash loses nothing.</summary>
    Task<IReadOnlyList<ChatMessage>> GetUnpublishedAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of the outbox after <paramref name="afterPosition"/> (0 for the start), oldest first, each message with its
    /// position for the next page: pages stay stable while earlier rows are still unpublished.
    /// </summary>
    Task<IReadOnlyList<OutboxMessage>> GetOutboxPageAsync(long afterPosition, int limit, CancellationToken cancellationToken = default);

    Task<long> CountAsync(string instanceId, CancellationToken cancellationToken = default);

    Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default);
}

/// <summary>An unpublished message and its place in the outbox.</summary>
public readonly record struct OutboxMessage(long Position, ChatMessage Message);

/// <summary>The unique key of a stored message.</summary>
public readonly record struct MessageKey(string InstanceId, string MessageId);

/// <summary>A position in a chat's history: page with the last message of the previous page.</summary>
public sealed record MessageCursor(DateTimeOffset Timestamp, string MessageId);

/// <summary>
/// Media files of all instances: files in the data folder (embedded), or PostgreSQL shared by every silo (production).
/// A saved file is visible only once complete; media ids are random and unguessable.
/// </summary>
public interface IMediaStore
{
    Task<MediaRef> SaveAsync(string instanceId, Stream content, string contentType, string? fileName, CancellationToken cancellationToken = default);

    /// <summary>Opens a stored file, or null when there is none.</summary>
    Task<(Stream Content, MediaRef Media)?> OpenAsync(string instanceId, string mediaId, CancellationToken cancellationToken = default);

    Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default);
}
