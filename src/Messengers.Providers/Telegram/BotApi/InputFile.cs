namespace Messengers.Providers.Telegram.BotApi;

/// <summary>
/// A file to send (protocols.md §1.8): bytes uploaded as a multipart part, an HTTP(S) URL that Telegram
/// downloads itself, or the <c>file_id</c> of a file the bot has seen.
/// </summary>
public abstract record InputFile
{
    private protected InputFile()
    {
    }

    /// <summary>Uploads the stream's content as multipart/form-data. The stream is not disposed; a seekable one is rewound before each send.</summary>
    public static InputFile FromStream(Stream content, string fileName, string? contentType = null) =>
        new InputFileStream(content, fileName, contentType);

    public static InputFile FromUrl(Uri url) => new InputFileUrl(url);

    public static InputFile FromFileId(string fileId) => new InputFileId(fileId);
}

public sealed record InputFileStream : InputFile
{
    public InputFileStream(Stream content, string fileName, string? contentType)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        Content = content;
        FileName = fileName;
        ContentType = contentType;
        StartPosition = content.CanSeek ? content.Position : null;
    }

    /// <summary>Where a seekable stream started; each send rewinds to it, so retries upload the same bytes.</summary>
    public long? StartPosition { get; }

    public Stream Content { get; }

    public string FileName { get; }

    public string? ContentType { get; }
}

public sealed record InputFileUrl : InputFile
{
    public InputFileUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        Url = url;
    }

    public Uri Url { get; }
}

public sealed record InputFileId : InputFile
{
    public InputFileId(string fileId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileId);
        FileId = fileId;
    }

    public string FileId { get; }
}
