namespace Messengers.Providers.Telegram.Updates;

/// <summary>A file carried by a message; fetch it with getFile and the download.</summary>
public sealed record MediaReference(
    MediaKind Kind,
    string FileId,
    string FileUniqueId,
    long? FileSize,
    string? FileName = null,
    string? MimeType = null);
