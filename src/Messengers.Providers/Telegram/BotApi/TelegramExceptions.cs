namespace Messengers.Providers.Telegram.BotApi;

/// <summary>Base of every failure the Bot API client reports. Messages never contain the bot token.</summary>
public abstract class TelegramException : Exception
{
    protected TelegramException(string method, string message, Exception? innerException)
        : base(message, innerException)
    {
        Method = method;
    }

    /// <summary>The Bot API method (or "file" for a download) that failed.</summary>
    public string Method { get; }
}

/// <summary>
/// The Bot API answered <c>{"ok":false,...}</c> (protocols.md §1.2), or a non-2xx status without an envelope
/// (e.g. a proxy's 502 page).
/// </summary>
public sealed class TelegramApiException : TelegramException
{
    public TelegramApiException(string method, int errorCode, string description, TimeSpan? retryAfter = null, long? migrateToChatId = null)
        : base(method, $"Telegram {method} failed: {errorCode} {description}", null)
    {
        ErrorCode = errorCode;
        Description = description;
        RetryAfter = retryAfter;
        MigrateToChatId = migrateToChatId;
    }

    /// <summary>Equals the HTTP status.</summary>
    public int ErrorCode { get; }

    public string Description { get; }

    /// <summary><c>parameters.retry_after</c> of a 429 flood-control answer.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary><c>parameters.migrate_to_chat_id</c>: the group became this supergroup.</summary>
    public long? MigrateToChatId { get; }

    public bool IsFloodWait => ErrorCode == 429;

    /// <summary>5xx: the server failed; the request may be retried.</summary>
    public bool IsServerError => ErrorCode >= 500;
}

/// <summary>The request did not get an answer: connection failure, reset, timeout, or an unreadable body.</summary>
public sealed class TelegramNetworkException : TelegramException
{
    public TelegramNetworkException(string method, string message, Exception? innerException, bool isTimeout = false)
        : base(method, message, innerException)
    {
        IsTimeout = isTimeout;
    }

    public bool IsTimeout { get; }
}
