using System.Globalization;
using System.Text.Json;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Telegram.Updates;

/// <summary>Maps Telegram.Bot's <see cref="Update"/> onto what the gateway stores: text, caption, media, chat type, sender.</summary>
public static class UpdateParser
{
    /// <summary>Reads one webhook body with the library's own serializer settings (snake_case, unknown fields ignored).</summary>
    public static ValueTask<Update?> DeserializeAsync(Stream json, CancellationToken cancellationToken = default) =>
        JsonSerializer.DeserializeAsync<Update>(json, JsonBotAPI.Options, cancellationToken);

    /// <inheritdoc cref="DeserializeAsync"/>
    public static Update? Deserialize(string json) => JsonSerializer.Deserialize<Update>(json, JsonBotAPI.Options);

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
    public static ParsedMessage? Parse(Update update)
    {
        if (GetMessage(update) is not var (message, kind))
        {
            return null;
        }

        return new ParsedMessage(
            update.Id,
            kind,
            message.Chat.Id,
            GetChatType(message.Chat),
            message.Chat.Title,
            message.Id,
            new DateTimeOffset(DateTime.SpecifyKind(message.Date, DateTimeKind.Utc)),
            GetSender(message),
            message.Text,
            message.Caption,
            GetMedia(message),
            message.ReplyToMessage?.Id,
            message.MediaGroupId);
    }

    /// <summary>
    /// The chat type; when the server sent a type the library does not know (it reads as 0), falls back to the id's sign
    /// (negative ids are groups, supergroups and channels).
    /// </summary>
    public static ChatType GetChatType(Chat chat)
    {
        ArgumentNullException.ThrowIfNull(chat);
        return Enum.IsDefined(chat.Type) ? chat.Type
            : chat.Id > 0 ? ChatType.Private
            : chat.Id.ToString(CultureInfo.InvariantCulture).StartsWith("-100", StringComparison.Ordinal) ? ChatType.Supergroup
            : ChatType.Group;
    }

    /// <summary>
    /// A reaction update as text: the user's emojis now, in order (a paid reaction as ⭐, a custom emoji as
    /// <c>[custom_emoji:id]</c>); empty when the user removed their reaction.
    /// </summary>
    public static string ReactionText(MessageReactionUpdated reaction)
    {
        ArgumentNullException.ThrowIfNull(reaction);
        return string.Concat((reaction.NewReaction ?? []).Select(r => r switch
        {
            ReactionTypeEmoji emoji => emoji.Emoji,
            ReactionTypePaid => "⭐",
            ReactionTypeCustomEmoji custom => $"[custom_emoji:{custom.CustomEmojiId}]",
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
