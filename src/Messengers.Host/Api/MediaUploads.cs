using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Messengers.Host.Api;

/// <summary>
/// Media attached to a JSON send (WAHA's <c>file</c> shape): base64 in <see cref="Data"/> (a <c>data:</c> URL also
/// works) or an http(s) <see cref="Url"/> the gateway downloads (exactly one of them), with an optional
/// <see cref="Mimetype"/> and <see cref="Filename"/>. For uploads, send multipart/form-data.
/// </summary>
public sealed record SendMediaRequest(string? Data, string? Mimetype, string? Filename, string? Url = null)
{
    /// <summary>Whether the media is to be downloaded from <see cref="Url"/> (see <see cref="MediaUploads.DownloadAsync"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsUrl => !string.IsNullOrEmpty(Url) && string.IsNullOrEmpty(Data);
}

/// <summary>A media file taken from a send request, checked and held in memory until stored.</summary>
public sealed record MediaUpload(byte[] Content, string ContentType, string? FileName);

/// <summary>
/// Reads the body of <c>POST /api/v1/instances/{id}/messages</c>: JSON (<see cref="SendMessageRequest"/>, media as
/// base64 or a URL) or multipart/form-data (fields <c>chatId</c>, <c>text</c> or <c>caption</c>, <c>replyTo</c>,
/// <c>clientMessageId</c>, the Telegram options <c>parseMode</c>, <c>silent</c>, <c>disableLinkPreview</c>, and one file part
/// <c>file</c>). Checks media size and type with errors that name the field.
/// A URL is downloaded by <see cref="DownloadAsync"/> once the rest of the message is known to be valid.
/// </summary>
public static class MediaUploads
{
    /// <summary>Largest media file a send accepts (16 MiB); base64 in JSON is further bounded by the 16 MiB request body.</summary>
    public const int MaxMediaBytes = MediaFiles.MaxBytes;

    private const int MaxFileNameLength = 255;
    private static readonly HashSet<string> FormFields = new(StringComparer.OrdinalIgnoreCase) { "chatId", "text", "caption", "replyTo", "clientMessageId", "parseMode", "silent", "disableLinkPreview" };

    /// <summary>The request and its media, or a problem result (400 naming the field, 413 too large, 415 wrong body type).</summary>
    public static async Task<(SendMessageRequest? Request, MediaUpload? Media, IResult? Problem)> ReadSendAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.HasFormContentType)
        {
            return await ReadFormAsync(http, cancellationToken);
        }

        if (!http.HasJsonContentType())
        {
            return (null, null, TypedResults.Problem(
                title: "Unsupported media type",
                detail: "Send application/json (media as base64 in 'media.data' or a link in 'media.url') or multipart/form-data (the file in a part named 'file').",
                statusCode: StatusCodes.Status415UnsupportedMediaType));
        }

        var json = http.HttpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var request = await http.ReadFromJsonAsync<SendMessageRequest>(json, cancellationToken);
        if (request is null)
        {
            return (null, null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["A JSON object is required."] }, title: "The message is not valid."));
        }

        if (request.Media is null)
        {
            return (request, null, null);
        }

        if (!string.IsNullOrEmpty(request.Media.Data) && !string.IsNullOrEmpty(request.Media.Url))
        {
            return (null, null, Invalid("media", "Send either 'media.data' (the file as base64) or 'media.url' (a link to download), not both."));
        }

        if (request.Media.IsUrl)
        {
            return (request, null, null);
        }

        var (media, problem) = Decode(request.Media);
        return (request, media, problem);
    }

    /// <summary>
    /// Downloads <see cref="SendMediaRequest.Url"/> and checks it like an upload: 400 naming <c>media.url</c> for a
    /// refused URL, 413 too large, 415 a type that cannot be sent, 422 when the download fails (the remote's answer in the detail).
    /// </summary>
    public static async Task<(MediaUpload? Media, IResult? Problem)> DownloadAsync(SendMediaRequest media, MediaDownloader downloader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(media);
        ArgumentNullException.ThrowIfNull(downloader);
        DownloadedMedia downloaded;
        try
        {
            downloaded = await downloader.DownloadAsync(media.Url, localCaller: false, cancellationToken);
        }
        catch (MediaDownloadException e)
        {
            return (null, e.Failure switch
            {
                MediaDownloadFailure.BadUrl => Invalid("media.url", e.Message),
                MediaDownloadFailure.TooLarge => TooLarge(),
                MediaDownloadFailure.RefusedType => TypedResults.Problem(title: "Unsupported media type", detail: $"media.url: {e.Message}", statusCode: StatusCodes.Status415UnsupportedMediaType),
                _ => TypedResults.Problem(title: "Media download failed", detail: $"Downloading media.url failed: {e.Message}", statusCode: StatusCodes.Status422UnprocessableEntity),
            });
        }

        var declaredType = string.IsNullOrWhiteSpace(media.Mimetype) ? downloaded.ContentType : media.Mimetype;
        return Check(downloaded.Content, declaredType, string.IsNullOrWhiteSpace(media.Filename) ? downloaded.FileName : media.Filename, "media.url");
    }

    private static async Task<(SendMessageRequest? Request, MediaUpload? Media, IResult? Problem)> ReadFormAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        var form = await http.ReadFormAsync(cancellationToken);
        var errors = new Dictionary<string, string[]>();
        var unknown = form.Keys.Where(k => !FormFields.Contains(k)).Concat(form.Files.Select(f => f.Name).Where(n => !string.Equals(n, "file", StringComparison.OrdinalIgnoreCase))).Distinct().ToList();
        if (unknown.Count > 0)
        {
            errors["form"] = [$"Unknown form fields: {string.Join(", ", unknown)}. Expected chatId, text (or caption), replyTo, clientMessageId, parseMode, silent, disableLinkPreview and a file part 'file'."];
        }

        var files = form.Files.Where(f => string.Equals(f.Name, "file", StringComparison.OrdinalIgnoreCase)).ToList();
        if (files.Count > 1)
        {
            errors["file"] = ["Send one file per message."];
        }

        if (form.Keys.Contains("text") && form.Keys.Contains("caption"))
        {
            errors["caption"] = ["Send either text or caption, not both."];
        }

        var silent = FlagField(form, "silent", errors);
        var disableLinkPreview = FlagField(form, "disableLinkPreview", errors);
        if (errors.Count > 0)
        {
            return (null, null, TypedResults.ValidationProblem(errors, title: "The message is not valid."));
        }

        var request = new SendMessageRequest(Field(form, "chatId"), Field(form, "text") ?? Field(form, "caption"), Field(form, "replyTo"), Field(form, "clientMessageId"),
            ParseMode: Field(form, "parseMode"), Silent: silent, DisableLinkPreview: disableLinkPreview);
        if (files.Count == 0)
        {
            return (request, null, null);
        }

        var file = files[0];
        if (file.Length > MaxMediaBytes)
        {
            return (request, null, TooLarge());
        }

        var content = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(content, cancellationToken);
        }

        var (media, problem) = Check(content, file.ContentType, file.FileName, "file");
        return (request, media, problem);
    }

    private static (MediaUpload? Media, IResult? Problem) Decode(SendMediaRequest media)
    {
        var data = media.Data;
        var declaredType = media.Mimetype;
        if (string.IsNullOrEmpty(data))
        {
            return (null, Invalid("media", "The media needs 'media.data' (the file as base64 or a data: URL) or 'media.url' (a link to download)."));
        }

        if (data.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            // data:[<type>][;base64],<data>
            var comma = data.IndexOf(',', StringComparison.Ordinal);
            var header = comma < 0 ? "" : data[5..comma];
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                return (null, Invalid("media.data", "A data: URL must be base64: data:<mimetype>;base64,<data>."));
            }

            var urlType = header[..^";base64".Length];
            declaredType = string.IsNullOrEmpty(declaredType) ? urlType : declaredType;
            data = data[(comma + 1)..];
        }

        if ((long)data.Length / 4 * 3 > MaxMediaBytes + 2L)
        {
            return (null, TooLarge());
        }

        var bytes = new byte[data.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(data, bytes, out var written))
        {
            return (null, Invalid("media.data", "'data' is not valid base64."));
        }

        return Check(bytes.AsSpan(0, written).ToArray(), declaredType, media.Filename, "media.data");
    }

    /// <summary>Size, name and type of a file from <paramref name="source"/>: the form part <c>file</c>, <c>media.data</c> or <c>media.url</c>.</summary>
    private static (MediaUpload? Media, IResult? Problem) Check(byte[] content, string? declaredType, string? fileName, string source)
    {
        var form = source == "file";
        var typeField = form ? "file" : "media.mimetype";
        if (content.Length == 0)
        {
            return (null, Invalid(source, "The media file is empty."));
        }

        if (content.Length > MaxMediaBytes)
        {
            return (null, TooLarge());
        }

        var name = string.IsNullOrWhiteSpace(fileName) ? null : Path.GetFileName(fileName.Trim());
        if (name is { Length: > MaxFileNameLength } || (name is not null && name.Any(char.IsControl)))
        {
            return (null, Invalid(form ? "file" : "media.filename", $"The file name must be at most {MaxFileNameLength} characters without control characters."));
        }

        var type = string.IsNullOrWhiteSpace(declaredType) || string.Equals(declaredType, "application/octet-stream", StringComparison.OrdinalIgnoreCase)
            ? MediaFiles.TypeOfName(name) ?? declaredType
            : declaredType;
        if (string.IsNullOrWhiteSpace(type))
        {
            return (null, Invalid(typeField, "The media type is required (for example image/jpeg), or a file name whose extension tells it."));
        }

        if (!MediaTypeHeaderValue.TryParse(type, out var parsed) || parsed.MediaType.Value is not { } mediaType || !mediaType.Contains('/', StringComparison.Ordinal))
        {
            return (null, Invalid(typeField, $"'{type}' is not a media type (type/subtype)."));
        }

        if (MediaFiles.RefusalOf(mediaType) is { } refusal)
        {
            return (null, Invalid(typeField, refusal));
        }

        return (new MediaUpload(content, mediaType.ToLowerInvariant(), name), null);
    }

    private static string? Field(IFormCollection form, string name)
        => form.TryGetValue(name, out var value) && value.Count > 0 ? value.ToString() : null;

    /// <summary>A true/false form field (case-insensitive); absent is null, anything else an error naming it.</summary>
    private static bool? FlagField(IFormCollection form, string name, Dictionary<string, string[]> errors)
    {
        if (Field(form, name) is not { } value)
        {
            return null;
        }

        if (bool.TryParse(value.Trim(), out var flag))
        {
            return flag;
        }

        errors[name] = [$"{name} must be true or false, not '{value}'."];
        return null;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ValidationProblem Invalid(string field, string message)
        => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: "The message is not valid.");

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult TooLarge()
        => TypedResults.Problem(title: "Media too large", detail: MediaFiles.TooLargeText, statusCode: StatusCodes.Status413PayloadTooLarge);
}
