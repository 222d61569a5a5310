using Messengers.Abstractions.Messages;

namespace Messengers.Agents.Turns;

/// <summary>Reads the media of a turn's messages from the media store for the agent call, within the size limit.</summary>
internal static class AgentMediaLoader
{
    /// <summary>The media attached to the turn, and those left out (too large, or no longer stored) with the reason.</summary>
    public static async Task<(IReadOnlyList<AgentAttachment> Attached, IReadOnlyList<AgentOmittedMedia> Omitted)> LoadAsync(
        IMediaStore? store, IEnumerable<ChatMessage> messages, long maxBytes, CancellationToken cancellationToken)
    {
        var attached = new List<AgentAttachment>();
        var omitted = new List<AgentOmittedMedia>();
        foreach (var message in messages)
        {
            if (message.Media is not { } media)
            {
                continue;
            }

            var fileName = FileName(media, message.Type);
            AgentOmittedMedia Omit(string reason) => new(fileName, media.ContentType, media.Size, reason) { MediaId = media.MediaId };
            if (media.Size > maxBytes)
            {
                // Not even read: a large video must not sit in memory for every call in flight.
                omitted.Add(Omit(AgentMedia.TooLarge(maxBytes)));
                continue;
            }

            var opened = store is null ? null : await store.OpenAsync(message.InstanceId, media.MediaId, cancellationToken);
            if (opened is not { } file)
            {
                omitted.Add(Omit("the file is no longer stored"));
                continue;
            }

            await using (file.Content)
            {
                var bytes = await ReadAtMostAsync(file.Content, maxBytes, cancellationToken);
                if (bytes is null)
                {
                    omitted.Add(Omit(AgentMedia.TooLarge(maxBytes)));
                }
                else
                {
                    attached.Add(new AgentAttachment(fileName, media.ContentType, bytes) { MediaId = media.MediaId });
                }
            }
        }

        return (attached, omitted);
    }

    /// <summary>The stored name, else one made of the message type and the content type ("image.jpg").</summary>
    internal static string FileName(MediaRef media, string messageType)
    {
        if (!string.IsNullOrWhiteSpace(media.FileName))
        {
            return media.FileName;
        }

        var extension = AgentMedia.MediaType(media.ContentType) switch
        {
            "image/jpeg" or "image/jpg" => ".jpg",
            "image/png" => ".png",
            "image/webp" => ".webp",
            "image/gif" => ".gif",
            "audio/ogg" => ".ogg",
            "audio/mpeg" or "audio/mp3" => ".mp3",
            "audio/mp4" or "audio/m4a" => ".m4a",
            "audio/wav" => ".wav",
            "video/mp4" => ".mp4",
            "video/webm" => ".webm",
            "application/pdf" => ".pdf",
            "text/plain" => ".txt",
            _ => "",
        };
        var stem = string.IsNullOrWhiteSpace(messageType) || messageType == MessageTypes.Text ? AgentMedia.Kind(media.ContentType) : messageType;
        return stem + extension;
    }

    /// <summary>The whole stream, or null when it holds more than <paramref name="maxBytes"/> (the stored size may be wrong).</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await content.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
