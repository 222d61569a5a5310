using System.Text.Json;
using System.Text.Json.Serialization;

namespace Messengers.Providers.Telegram.BotApi;

// Bot API object shapes (protocols.md §1.5–§1.10). Only the fields the gateway reads are modelled; unknown
// fields are ignored on read. Names map to snake_case through TelegramJson.Options.

/// <summary>An incoming update. At most one of the optional payloads is set.</summary>
public sealed record Update
{
    public long UpdateId { get; init; }

    public Message? Message { get; init; }

    public Message? EditedMessage { get; init; }

    public Message? ChannelPost { get; init; }

    public Message? EditedChannelPost { get; init; }

    public Message? BusinessMessage { get; init; }

    public Message? EditedBusinessMessage { get; init; }

    public CallbackQuery? CallbackQuery { get; init; }

    public ChatMemberUpdated? MyChatMember { get; init; }

    public ChatMemberUpdated? ChatMember { get; init; }

    public MessageReactionUpdated? MessageReaction { get; init; }

    /// <summary>Update kinds this model does not describe, kept raw.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; init; }
}

public sealed record User
{
    public long Id { get; init; }

    public bool IsBot { get; init; }

    public string FirstName { get; init; } = "";

    public string? LastName { get; init; }

    public string? Username { get; init; }

    public string? LanguageCode { get; init; }

    public bool? IsPremium { get; init; }

    // getMe-only fields.
    public bool? CanJoinGroups { get; init; }

    public bool? CanReadAllGroupMessages { get; init; }

    public bool? SupportsInlineQueries { get; init; }

    public bool? CanConnectToBusiness { get; init; }

    public bool? HasMainWebApp { get; init; }
}

[JsonConverter(typeof(ChatTypeConverter))]
public enum ChatType
{
    /// <summary>A type this client does not know.</summary>
    Unknown,
    Private,
    Group,
    Supergroup,
    Channel,
}

/// <summary>A chat as it appears inside messages; getChat answers the larger <see cref="ChatFullInfo"/>.</summary>
public sealed record Chat
{
    public long Id { get; init; }

    public ChatType Type { get; init; }

    public string? Title { get; init; }

    public string? Username { get; init; }

    public string? FirstName { get; init; }

    public string? LastName { get; init; }

    public bool? IsForum { get; init; }
}

public sealed record ChatFullInfo
{
    public long Id { get; init; }

    public ChatType Type { get; init; }

    public string? Title { get; init; }

    public string? Username { get; init; }

    public string? FirstName { get; init; }

    public string? LastName { get; init; }

    public string? Bio { get; init; }

    public string? Description { get; init; }

    public string? InviteLink { get; init; }

    public int? AccentColorId { get; init; }

    public int? MaxReactionCount { get; init; }

    public string[]? ActiveUsernames { get; init; }

    public Message? PinnedMessage { get; init; }
}

public sealed record Message
{
    public long MessageId { get; init; }

    public long? MessageThreadId { get; init; }

    public User? From { get; init; }

    public Chat? SenderChat { get; init; }

    /// <summary>Unix seconds.</summary>
    public long Date { get; init; }

    public Chat Chat { get; init; } = new();

    public long? EditDate { get; init; }

    public Message? ReplyToMessage { get; init; }

    public string? MediaGroupId { get; init; }

    public string? Text { get; init; }

    public MessageEntity[]? Entities { get; init; }

    public string? Caption { get; init; }

    public MessageEntity[]? CaptionEntities { get; init; }

    public PhotoSize[]? Photo { get; init; }

    public Document? Document { get; init; }

    public Audio? Audio { get; init; }

    public Video? Video { get; init; }

    public Voice? Voice { get; init; }

    public Sticker? Sticker { get; init; }

    public string? BusinessConnectionId { get; init; }

    [JsonIgnore]
    public DateTimeOffset DateUtc => DateTimeOffset.FromUnixTimeSeconds(Date);
}

public sealed record MessageEntity
{
    public string Type { get; init; } = "";

    public int Offset { get; init; }

    public int Length { get; init; }

    public string? Url { get; init; }

    public User? User { get; init; }

    public string? Language { get; init; }

    public string? CustomEmojiId { get; init; }
}

public sealed record PhotoSize
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public int Width { get; init; }

    public int Height { get; init; }

    public long? FileSize { get; init; }
}

public sealed record Document
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public PhotoSize? Thumbnail { get; init; }

    public string? FileName { get; init; }

    public string? MimeType { get; init; }

    public long? FileSize { get; init; }
}

public sealed record Audio
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public int Duration { get; init; }

    public string? Performer { get; init; }

    public string? Title { get; init; }

    public string? FileName { get; init; }

    public string? MimeType { get; init; }

    public long? FileSize { get; init; }

    public PhotoSize? Thumbnail { get; init; }
}

public sealed record Video
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public int Width { get; init; }

    public int Height { get; init; }

    public int Duration { get; init; }

    public PhotoSize? Thumbnail { get; init; }

    public string? FileName { get; init; }

    public string? MimeType { get; init; }

    public long? FileSize { get; init; }
}

public sealed record Voice
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public int Duration { get; init; }

    public string? MimeType { get; init; }

    public long? FileSize { get; init; }
}

public sealed record Sticker
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public string? Type { get; init; }

    public int Width { get; init; }

    public int Height { get; init; }

    public string? Emoji { get; init; }

    public long? FileSize { get; init; }
}

/// <summary>The answer of getFile. Download with <see cref="TelegramBotClient.DownloadFileAsync(string, Stream, CancellationToken)"/>.</summary>
public sealed record File
{
    public string FileId { get; init; } = "";

    public string FileUniqueId { get; init; } = "";

    public long? FileSize { get; init; }

    /// <summary>Absent for files above the 20 MB download limit.</summary>
    public string? FilePath { get; init; }
}

public sealed record WebhookInfo
{
    /// <summary>Empty while getUpdates is in use.</summary>
    public string Url { get; init; } = "";

    public bool HasCustomCertificate { get; init; }

    public int PendingUpdateCount { get; init; }

    public string? IpAddress { get; init; }

    public long? LastErrorDate { get; init; }

    public string? LastErrorMessage { get; init; }

    public long? LastSynchronizationErrorDate { get; init; }

    public int? MaxConnections { get; init; }

    public string[]? AllowedUpdates { get; init; }
}

/// <summary>
/// Any of the ChatMember variants (owner "creator", "administrator", "member", "restricted", "left", "kicked"),
/// flattened: fields that a status does not carry stay null.
/// </summary>
public sealed record ChatMember
{
    public string Status { get; init; } = "";

    public User User { get; init; } = new();

    public bool? IsAnonymous { get; init; }

    public string? CustomTitle { get; init; }

    public bool? CanBeEdited { get; init; }

    public bool? CanManageChat { get; init; }

    public bool? CanDeleteMessages { get; init; }

    public bool? CanRestrictMembers { get; init; }

    public bool? CanPromoteMembers { get; init; }

    public bool? CanChangeInfo { get; init; }

    public bool? CanInviteUsers { get; init; }

    public bool? CanPinMessages { get; init; }

    public bool? IsMember { get; init; }

    public long? UntilDate { get; init; }
}

public sealed record ChatMemberUpdated
{
    public Chat Chat { get; init; } = new();

    public User From { get; init; } = new();

    public long Date { get; init; }

    public ChatMember OldChatMember { get; init; } = new();

    public ChatMember NewChatMember { get; init; } = new();
}

public sealed record CallbackQuery
{
    public string Id { get; init; } = "";

    public User From { get; init; } = new();

    public Message? Message { get; init; }

    public string? InlineMessageId { get; init; }

    public string? ChatInstance { get; init; }

    public string? Data { get; init; }
}

public sealed record MessageReactionUpdated
{
    public Chat Chat { get; init; } = new();

    public long MessageId { get; init; }

    public User? User { get; init; }

    /// <summary>The chat on whose behalf an anonymous administrator reacted (then <see cref="User"/> is absent).</summary>
    public Chat? ActorChat { get; init; }

    public long Date { get; init; }

    public ReactionType[] OldReaction { get; init; } = [];

    public ReactionType[] NewReaction { get; init; } = [];
}

/// <summary>ReactionTypeEmoji, ReactionTypeCustomEmoji or ReactionTypePaid, flattened.</summary>
public sealed record ReactionType
{
    public string Type { get; init; } = "";

    public string? Emoji { get; init; }

    public string? CustomEmojiId { get; init; }

    public static ReactionType FromEmoji(string emoji) => new() { Type = "emoji", Emoji = emoji };

    public static ReactionType FromCustomEmoji(string customEmojiId) => new() { Type = "custom_emoji", CustomEmojiId = customEmojiId };

    public static ReactionType Paid { get; } = new() { Type = "paid" };
}

/// <summary>What a sent message replies to. <c>message_id</c> is required.</summary>
public sealed record ReplyParameters
{
    public long MessageId { get; init; }

    public ChatId? ChatId { get; init; }

    public bool? AllowSendingWithoutReply { get; init; }

    public string? Quote { get; init; }

    public string? QuoteParseMode { get; init; }

    public int? QuotePosition { get; init; }
}

public sealed record LinkPreviewOptions
{
    public bool? IsDisabled { get; init; }

    public string? Url { get; init; }

    public bool? PreferSmallMedia { get; init; }

    public bool? PreferLargeMedia { get; init; }

    public bool? ShowAboveText { get; init; }
}

/// <summary>Text formatting of <c>parse_mode</c>.</summary>
public enum ParseMode
{
    None,
    Html,
    MarkdownV2,

    /// <summary>Legacy Markdown; prefer <see cref="MarkdownV2"/>.</summary>
    Markdown,
}

/// <summary>The <c>action</c> of sendChatAction.</summary>
public enum ChatAction
{
    Typing,
    UploadPhoto,
    RecordVideo,
    UploadVideo,
    RecordVoice,
    UploadVoice,
    UploadDocument,
    ChooseSticker,
    FindLocation,
    RecordVideoNote,
    UploadVideoNote,
}

/// <summary>Reads chat types leniently: an unknown value becomes <see cref="ChatType.Unknown"/>.</summary>
internal sealed class ChatTypeConverter : JsonConverter<ChatType>
{
    public override ChatType Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String ? Parse(reader.GetString()) : ChatType.Unknown;

    public override void Write(Utf8JsonWriter writer, ChatType value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Format(value));

    public static ChatType Parse(string? value) => value switch
    {
        "private" => ChatType.Private,
        "group" => ChatType.Group,
        "supergroup" => ChatType.Supergroup,
        "channel" => ChatType.Channel,
        _ => ChatType.Unknown,
    };

    public static string Format(ChatType value) => value switch
    {
        ChatType.Private => "private",
        ChatType.Group => "group",
        ChatType.Supergroup => "supergroup",
        ChatType.Channel => "channel",
        _ => "unknown",
    };
}
