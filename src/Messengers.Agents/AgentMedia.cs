using System.Globalization;

namespace Messengers.Agents;

/// <summary>
/// Decides which of a turn's media a backend sends and words a short note for the rest, so a turn with a file the
/// agent cannot take still reaches it (as text) instead of failing.
/// </summary>
internal static class AgentMedia
{
    /// <summary>The bare media type, lower case, without parameters ("audio/ogg; codecs=opus" → "audio/ogg").</summary>
    public static string MediaType(string? contentType)
    {
        var bare = (contentType ?? "").Split(';', 2)[0].Trim().ToLowerInvariant();
        return bare.Contains('/', StringComparison.Ordinal) ? bare : "application/octet-stream";
    }

    /// <summary>"image", "audio", "video" or "document", from the content type.</summary>
    public static string Kind(string? contentType) => MediaType(contentType).Split('/')[0] switch
    {
        "image" => "image",
        "audio" => "audio",
        "video" => "video",
        _ => "document",
    };

    /// <summary>"photo.jpg (image/jpeg, 1.2 MB)".</summary>
    public static string Describe(string fileName, string contentType, long size) =>
        string.Create(CultureInfo.InvariantCulture, $"{fileName} ({MediaType(contentType)}, {FormatSize(size)})");

    public static string FormatSize(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.#} MB"),
    };

    /// <summary>The reason given for a file over <paramref name="maxBytes"/>.</summary>
    public static string TooLarge(long maxBytes) => "larger than the " + FormatSize(maxBytes) + " limit";

    /// <summary>
    /// Splits the request's attachments into those sent (within <paramref name="maxBytes"/> and taken by the backend,
    /// per <paramref name="accepts"/> on the bare media type) and those left out, with the media the bridge already
    /// left out (<see cref="AgentRequest.OmittedMedia"/>).
    /// </summary>
    public static MediaSelection Select(AgentRequest request, long maxBytes, Func<string, bool> accepts, string notTakenReason)
    {
        var sent = new List<AgentAttachment>();
        var omitted = new List<AgentOmittedMedia>(request.OmittedMedia);
        foreach (var attachment in request.Attachments)
        {
            var type = MediaType(attachment.ContentType);
            if (attachment.Content.LongLength > maxBytes)
            {
                omitted.Add(AgentOmittedMedia.Of(attachment, TooLarge(maxBytes)));
            }
            else if (!accepts(type))
            {
                omitted.Add(AgentOmittedMedia.Of(attachment, notTakenReason));
            }
            else
            {
                sent.Add(attachment);
            }
        }

        return new MediaSelection(sent, omitted);
    }
}

/// <summary>The media a backend sends for one turn and those it leaves out.</summary>
internal sealed record MediaSelection(IReadOnlyList<AgentAttachment> Sent, IReadOnlyList<AgentOmittedMedia> Omitted)
{
    /// <summary>This selection with every file left out, those it would have sent for <paramref name="reason"/>.</summary>
    public MediaSelection WithoutFiles(string reason) =>
        new([], [.. Omitted, .. Sent.Select(a => AgentOmittedMedia.Of(a, reason))]);

    /// <summary>
    /// The user text followed by one line per media left out, e.g.
    /// <c>[attachment not sent: voice.ogg (audio/ogg, 12 KB): the agent server does not take audio/ogg]</c>.
    /// </summary>
    public string TextWithNotes(string text)
    {
        if (Omitted.Count == 0)
        {
            return text;
        }

        var notes = Omitted.Select(m => $"[attachment not sent: {AgentMedia.Describe(m.FileName, m.ContentType, m.Size)}: {m.Reason}]");
        return string.IsNullOrEmpty(text) ? string.Join("\n", notes) : string.Join("\n", [text, .. notes]);
    }
}
