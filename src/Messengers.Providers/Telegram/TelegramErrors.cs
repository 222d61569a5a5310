using Telegram.Bot.Exceptions;

namespace Messengers.Providers.Telegram;

/// <summary>
/// Reads Telegram.Bot's exceptions the way the connection, the send queue and the media code act on them:
/// <see cref="ApiRequestException"/> is an answer of the Bot API (error_code, description, retry_after); any other
/// <see cref="RequestException"/> means no usable answer (network, timeout, a proxy's HTML page).
/// </summary>
internal static class TelegramErrors
{
    /// <summary>The Bot API's error code; for a non-JSON answer its HTTP status; null when nothing answered.</summary>
    public static int? CodeOf(Exception exception) => exception switch
    {
        ApiRequestException api => api.ErrorCode,
        RequestException { HttpStatusCode: { } status } => (int)status,
        _ => null,
    };

    /// <summary>401: the token is wrong or revoked (404 too: the self-hosted server's answer to an unknown token path).</summary>
    public static bool IsInvalidToken(Exception exception) => exception is ApiRequestException { ErrorCode: 401 or 404 };

    public static bool IsUnauthorized(Exception exception) => exception is ApiRequestException { ErrorCode: 401 };

    /// <summary>409: another poller, or a webhook, owns this bot's updates.</summary>
    public static bool IsConflict(Exception exception) => exception is ApiRequestException { ErrorCode: 409 };

    /// <summary>A 429 flood wait with its retry_after (null when the server named none).</summary>
    public static bool IsFloodWait(Exception exception, out TimeSpan? retryAfter)
    {
        if (exception is ApiRequestException { ErrorCode: 429 } api)
        {
            retryAfter = api.Parameters?.RetryAfter is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
            return true;
        }

        retryAfter = null;
        return false;
    }

    /// <summary>5xx, from the Bot API envelope or a proxy in front of it: the request may be retried.</summary>
    public static bool IsServerError(Exception exception) => CodeOf(exception) >= 500;
}
