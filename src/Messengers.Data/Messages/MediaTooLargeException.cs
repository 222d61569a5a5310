namespace Messengers.Data.Messages;

/// <summary>A media file was larger than the store accepts; nothing was stored.</summary>
public sealed class MediaTooLargeException : Exception
{
    public MediaTooLargeException() : base("The media file is too large.") { }

    public MediaTooLargeException(string message) : base(message) { }

    public MediaTooLargeException(string message, Exception inner) : base(message, inner) { }

    public MediaTooLargeException(long maxFileSize)
        : base($"The media file is larger than the limit of {maxFileSize} bytes; nothing was stored.") => MaxFileSize = maxFileSize;

    public long MaxFileSize { get; }
}
