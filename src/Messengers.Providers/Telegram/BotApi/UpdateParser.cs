namespace Messengers.Providers.Telegram.BotApi;

/// <summary>Which field of the <see cref="Update"/> carried the message.</summary>
public enum UpdateMessageKind
{
    Message,
    EditedMessage,
    ChannelPost,
    EditedChannelPost,
    BusinessMessage,
    EditedBusinessMessage,
}

/// <summary>What kind of file a <see cref="MediaReference"/> points at.</summary>
public enum MediaKind
{
    Photo,
    Document,
    Audio,
    Video,
    Voice,
    Sticker,
}

/// <summary>A file carried by a message; fetch it with getFile and the download.</summary>
public sealed record MediaReference(
    MediaKind Kind,
    string FileId,
    string FileUniqueId,
    long? FileSize,
    string? FileName = null,
    string? MimeType = null);

/// <summary>Who wrote a message: a user, or a chat (channel posts, anonymous admins).</summary>
public sealed record MessageSender(long Id, string DisplayName, string? Username, bool IsBot, bool IsChat);

/// <summary>The parts of an incoming message the gateway cares about.</summary>
public sealed record InboundMessage(
    long UpdateId,
    UpdateMessageKind Kind,
    long ChatId,
    ChatType ChatType,
    string? ChatTitle,
    long MessageId,
    DateTimeOffset Date,
    MessageSender? Sender,
    string? Text,
    string? Caption,
    IReadOnlyList<MediaReference> Media,
    long? ReplyToMessageId,
    string? MediaGroupId)
{
    /// <summary>The text, or the caption of a media message.</summary>
    public string? TextOrCaption => Text ?? Caption;

    public bool IsPrivate => ChatType == ChatType.Private;

    public bool IsGroup => ChatType is ChatType.Group or ChatType.Supergroup;
}

/// <summary>Reads text, caption, media file ids, chat type and sender out of updates.</summary>
public static class UpdateParser
{
    /// <summary>The message an update carries, whichever field holds it; null for non-message updates.</summary>
    public static (Message Message, UpdateMessageKind Kind)? GetMessage(Update update)
    {
        ArgumentNullException.ThrowIfNull(update);
        return update switch
        {
            { Message: { } m } => (m, UpdateMessageKind.Message),
            { EditedMessage: { } m } => (m, UpdateMessageKind.EditedMessage),
            { ChannelPost: { } m } => (m, UpdateMessageKind.ChannelPost),
            { EditedChannelPost: { } m } => (m, UpdateMessageKind.EditedChannelPost),
            { BusinessMessage: { } m } => (m, UpdateMessageKind.BusinessMessage),
            { EditedBusinessMessage: { } m } => (m, UpdateMessageKind.EditedBusinessMessage),
            _ => null,
        };
    }

    /// <summary>Parses a message-carrying update; null for other update kinds.</summary>
    public static InboundMessage? Parse(Update update)
    {
        if (GetMessage(update) is not var (message, kind))
        {
            return null;
        }

        return new InboundMessage(
            update.UpdateId,
            kind,
            message.Chat.Id,
            GetChatType(message),
            message.Chat.Title,
            message.MessageId,
            message.DateUtc,
            GetSender(message),
            message.Text,
            message.Caption,
            GetMedia(message),
            message.ReplyToMessage?.MessageId,
            message.MediaGroupId);
    }

    public static string? GetText(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Text;
    }

    public static string? GetCaption(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Caption;
    }

    /// <summary>
    /// The chat type; when the server sent a type this client does not know, falls back to the id's sign
    /// (negative ids are groups, supergroups and channels).
    /// </summary>
    public static ChatType GetChatType(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return GetChatType(message.Chat);
    }

    /// <inheritdoc cref="GetChatType(Message)"/>
    public static ChatType GetChatType(Chat chat)
    {
        ArgumentNullException.ThrowIfNull(chat);
        return chat.Type != ChatType.Unknown ? chat.Type
            : chat.Id > 0 ? ChatType.Private
            : chat.Id.ToString(System.Globalization.CultureInfo.InvariantCulture).StartsWith("-100", StringComparison.Ordinal) ? ChatType.Supergroup
            : ChatType.Group;
    }

    /// <summary>
    /// A reaction update as text: the user's emojis now, in order (a paid reaction as ⭐, a custom emoji as
    /// <c>[custom_emoji:id]</c>); empty when the user removed their reaction.
    /// </summary>
    public static string ReactionText(MessageReactionUpdated reaction)
    {
        ArgumentNullException.ThrowIfNull(reaction);
        return string.Concat(reaction.NewReaction.Select(r => r.Type switch
        {
            "emoji" => r.Emoji,
            "paid" => "⭐",
            "custom_emoji" => $"[custom_emoji:{r.CustomEmojiId}]",
            _ => null,
        }));
    }

    /// <summary>Who reacted: the user, or the chat an anonymous administrator reacted for.</summary>
    public static MessageSender? GetSender(MessageReactionUpdated reaction)
    {
        ArgumentNullException.ThrowIfNull(reaction);
        return reaction.User is { } user ? SenderOf(user) : reaction.ActorChat is { } chat ? SenderOf(chat) : null;
    }

    /// <summary>The author: <c>sender_chat</c> when set (channel posts, anonymous admins), else <c>from</c>.</summary>
    public static MessageSender? GetSender(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.SenderChat is { } chat ? SenderOf(chat) : message.From is { } user ? SenderOf(user) : null;
    }

    /// <summary>File references in the message; for photos only the largest size.</summary>
    public static IReadOnlyList<MediaReference> GetMedia(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var media = new List<MediaReference>();
        if (message.Photo is { Length: > 0 } sizes)
        {
            var largest = sizes.MaxBy(s => (long)s.Width * s.Height + (s.FileSize ?? 0))!;
            media.Add(new MediaReference(MediaKind.Photo, largest.FileId, largest.FileUniqueId, largest.FileSize, null, "image/jpeg"));
        }

        if (message.Document is { } d)
        {
            media.Add(new MediaReference(MediaKind.Document, d.FileId, d.FileUniqueId, d.FileSize, d.FileName, d.MimeType));
        }

        if (message.Audio is { } a)
        {
            media.Add(new MediaReference(MediaKind.Audio, a.FileId, a.FileUniqueId, a.FileSize, a.FileName, a.MimeType));
        }

        if (message.Video is { } v)
        {
            media.Add(new MediaReference(MediaKind.Video, v.FileId, v.FileUniqueId, v.FileSize, v.FileName, v.MimeType));
        }

        if (message.Voice is { } vo)
        {
            media.Add(new MediaReference(MediaKind.Voice, vo.FileId, vo.FileUniqueId, vo.FileSize, null, vo.MimeType));
        }

        if (message.Sticker is { } st)
        {
            media.Add(new MediaReference(MediaKind.Sticker, st.FileId, st.FileUniqueId, st.FileSize));
        }

        return media;
    }

    private static MessageSender SenderOf(User user) => new(user.Id, JoinName(user.FirstName, user.LastName) ?? user.Username ?? "", user.Username, user.IsBot, false);

    private static MessageSender SenderOf(Chat chat) => new(chat.Id, chat.Title ?? JoinName(chat.FirstName, chat.LastName) ?? chat.Username ?? "", chat.Username, false, true);

    private static string? JoinName(string? first, string? last)
    {
        var name = string.Join(' ', new[] { first, last }.Where(s => !string.IsNullOrWhiteSpace(s)));
        return name.Length == 0 ? null : name;
    }
}
