namespace Messengers.Testing.Fakes.Telegram;

/// <summary>A Telegram user as the fake puts it into <c>from</c>.</summary>
public sealed record FakeUser(long Id, string FirstName, string? Username = null, string? LastName = null, string LanguageCode = "en", bool IsBot = false);

/// <summary>What <see cref="FakeTelegramServer"/> queued for the bot: the update id and the message id inside it.</summary>
public sealed record FakeUpdate(long UpdateId, long MessageId, long ChatId);

/// <summary>One Bot API call the fake received from a bot.</summary>
public sealed record FakeApiCall(string Method, DateTimeOffset At, int StatusCode);

/// <summary>One webhook delivery attempt the fake made.</summary>
public sealed record FakeWebhookAttempt(long UpdateId, DateTimeOffset At, int? StatusCode, string? Error);

/// <summary>A message the bot sent (sendMessage, sendPhoto, …) as the fake stored it.</summary>
public sealed class FakeSentMessage
{
    /// <summary>The Bot API method, as the bot spelled it (e.g. <c>sendMessage</c>).</summary>
    public required string Method { get; init; }

    public required long ChatId { get; init; }

    public required long MessageId { get; init; }

    /// <summary>The text as the bot sent it (before any entity parsing); edits replace it.</summary>
    public string? Text { get; internal set; }

    public string? Caption { get; init; }

    /// <summary>The <c>parse_mode</c> parameter as sent, or null.</summary>
    public string? ParseMode { get; internal set; }

    /// <summary>From <c>reply_parameters.message_id</c> or the legacy <c>reply_to_message_id</c>.</summary>
    public long? ReplyToMessageId { get; init; }

    public bool DisableNotification { get; init; }

    /// <summary>From <c>link_preview_options.is_disabled</c> or the legacy <c>disable_web_page_preview</c>.</summary>
    public bool? LinkPreviewDisabled { get; init; }

    /// <summary><c>photo</c>, <c>document</c>, <c>audio</c>, <c>video</c> or <c>voice</c> for media sends.</summary>
    public string? MediaKind { get; init; }

    /// <summary>The file id the fake assigned (or the one the bot re-sent).</summary>
    public string? FileId { get; init; }

    /// <summary>Set when the bot sent the file as an HTTP(S) URL.</summary>
    public string? MediaUrl { get; init; }

    public string? FileName { get; init; }

    public string? MimeType { get; init; }

    /// <summary>The uploaded bytes (multipart uploads and re-sent file ids).</summary>
    public byte[]? Content { get; init; }

    /// <summary>When the fake received the call (its TimeProvider).</summary>
    public DateTimeOffset At { get; init; }

    public bool IsDeleted { get; internal set; }

    public int EditCount { get; internal set; }

    /// <summary>All parameters of the call as strings (objects and arrays as JSON).</summary>
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }
}
