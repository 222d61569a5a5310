using System.Globalization;
using System.Security.Cryptography;
using System.Text;

using Messengers.Data.Webhooks;

namespace Messengers.Webhooks;

/// <summary>
/// The signature of a webhook request: <c>X-Messengers-Signature: v1=&lt;hex HMAC-SHA256(secret, "{timestamp}.{raw body}")&gt;</c>
/// with <c>X-Messengers-Timestamp</c> = unix seconds of the attempt. The body carries the event id, so the signature
/// covers it too. See docs/webhooks.md.
/// </summary>
public static class WebhookSignature
{
    public const string EventHeader = "X-Messengers-Event";
    public const string EventIdHeader = "X-Messengers-Event-Id";
    public const string TimestampHeader = "X-Messengers-Timestamp";
    public const string SignatureHeader = "X-Messengers-Signature";
    public const string Version = "v1";

    /// <summary>A new random secret (<c>whsec_</c> + 32 random bytes, base64url).</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The header value <c>v1=&lt;hex&gt;</c>.</summary>
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return Version + "=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>
    /// What a receiver does: recomputes the signature (constant-time compare) and rejects timestamps further than
    /// <paramref name="tolerance"/> from <paramref name="now"/> (replays).
    /// </summary>
    public static bool Verify(string secret, string? timestampHeader, string? signatureHeader, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(secret) || signatureHeader is null
            || !long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return false;
        }

        if (Math.Abs(now.ToUnixTimeSeconds() - timestamp) > tolerance.TotalSeconds)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(secret, timestamp, body));
        foreach (var candidate in signatureHeader.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(candidate)))
            {
                return true;
            }
        }

        return false;
    }
}
