using System.Buffers.Text;
using System.Security.Cryptography;

namespace Messengers.Data.Messages;

/// <summary>
/// The identifiers every <see cref="Abstractions.Messages.IMediaStore"/> of this project accepts and makes, so that a
/// media id or instance id valid for one store is valid for the other (a deployment can move between them).
/// </summary>
internal static class MediaIds
{
    /// <summary>A new media id: 128 random bits as 22 URL-safe characters (the id is the permission to fetch the file).</summary>
    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>Up to 64 ASCII letters, digits, '-' or '_'; anything else cannot name stored media.</summary>
    public static bool IsMediaId(string? mediaId)
        => !string.IsNullOrEmpty(mediaId) && mediaId.Length <= 64 && mediaId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>1..128 ASCII letters, digits, '-', '_' or '.', and not only dots: one safe path segment.</summary>
    public static bool IsSafeInstanceId(string? instanceId)
        => !string.IsNullOrEmpty(instanceId)
           && instanceId.Length <= 128
           && instanceId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
           && instanceId.Any(c => c != '.');

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="instanceId"/> is <see cref="IsSafeInstanceId"/>.</summary>
    public static void RequireSafeInstanceId(string instanceId, string purpose)
    {
        if (!IsSafeInstanceId(instanceId))
        {
            throw new ArgumentException($"The instance id must be 1..128 ASCII letters, digits, '-', '_' or '.' (and not only dots) to {purpose}.", nameof(instanceId));
        }
    }
}
