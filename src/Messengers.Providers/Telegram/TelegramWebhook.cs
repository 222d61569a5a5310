using System.Security.Cryptography;
using System.Text;

namespace Messengers.Providers.Telegram;

/// <summary>Helpers for the receiving end of a webhook (protocols.md §1.6).</summary>
public static class TelegramWebhook
{
    /// <summary>Carries the <c>secret_token</c> given to setWebhook on every delivery.</summary>
    public const string SecretTokenHeader = "X-Telegram-Bot-Api-Secret-Token";

    /// <summary>
    /// Constant-time comparison of the delivered header with the expected secret. Digests are compared, so neither
    /// the content nor the length of the secret leaks through timing.
    /// </summary>
    public static bool IsSecretValid(string expected, string? received)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (received is null)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(expected)), SHA256.HashData(Encoding.UTF8.GetBytes(received)));
    }
}
