using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Messengers.Providers.Telegram.BotApi;

/// <summary>
/// Parameters of one Bot API call. Sent as an application/json body, or as multipart/form-data when a file is
/// uploaded, in which case objects and arrays travel as JSON strings (protocols.md §1.1).
/// </summary>
internal sealed class BotApiRequest
{
    private readonly JsonObject _values = [];
    private readonly List<(string Name, InputFileStream File)> _files = [];

    public bool HasFiles => _files.Count > 0;

    public BotApiRequest Add(string name, string? value)
    {
        if (value is not null)
        {
            _values[name] = value;
        }

        return this;
    }

    public BotApiRequest Add(string name, long? value)
    {
        if (value is not null)
        {
            _values[name] = value.Value;
        }

        return this;
    }

    public BotApiRequest Add(string name, bool? value)
    {
        if (value is not null)
        {
            _values[name] = value.Value;
        }

        return this;
    }

    public BotApiRequest AddChatId(string name, ChatId value)
    {
        _values[name] = value.Id is { } id ? JsonValue.Create(id) : JsonValue.Create(value.Username);
        return this;
    }

    public BotApiRequest Add(string name, ParseMode? mode) =>
        mode is null or ParseMode.None ? this : Add(name, TelegramJson.Format(mode.Value));

    public BotApiRequest AddObject<T>(string name, T? value)
        where T : class
    {
        if (value is not null)
        {
            _values[name] = JsonSerializer.SerializeToNode(value, TelegramJson.Options);
        }

        return this;
    }

    public BotApiRequest AddStrings(string name, IEnumerable<string>? values)
    {
        if (values is not null)
        {
            _values[name] = new JsonArray([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);
        }

        return this;
    }

    public BotApiRequest AddFile(string name, InputFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        switch (file)
        {
            case InputFileStream stream:
                _files.Add((name, stream));
                break;
            case InputFileUrl url:
                Add(name, url.Url.AbsoluteUri);
                break;
            case InputFileId id:
                Add(name, id.FileId);
                break;
            default:
                throw new ArgumentException($"Unsupported input file {file.GetType().Name}", nameof(file));
        }

        return this;
    }

    public HttpContent ToContent()
    {
        if (!HasFiles)
        {
            return new StringContent(_values.ToJsonString(TelegramJson.Options), Encoding.UTF8, "application/json");
        }

        var form = new MultipartFormDataContent();
        foreach (var (name, node) in _values)
        {
            var text = node is JsonValue value && value.TryGetValue<string>(out var s) ? s : node?.ToJsonString(TelegramJson.Options) ?? "";
            form.Add(new StringContent(text, Encoding.UTF8), name);
        }

        foreach (var (name, file) in _files)
        {
            var part = new NonOwningStreamContent(file.Content);
            part.Headers.ContentType = new MediaTypeHeaderValue(file.ContentType ?? "application/octet-stream");
            form.Add(part, name, file.FileName);
        }

        return form;
    }

    /// <summary>Rewinds seekable upload streams so that a retried call sends the same bytes.</summary>
    public void Rewind()
    {
        foreach (var (_, file) in _files)
        {
            if (file.Content.CanSeek && file.StartPosition is { } start)
            {
                file.Content.Position = start;
            }
        }
    }

    /// <summary>Streams the caller's stream without taking ownership: disposing the request leaves it open.</summary>
    private sealed class NonOwningStreamContent(Stream stream) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream target, System.Net.TransportContext? context) =>
            stream.CopyToAsync(target);

        protected override Task SerializeToStreamAsync(Stream target, System.Net.TransportContext? context, CancellationToken cancellationToken) =>
            stream.CopyToAsync(target, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            if (stream.CanSeek)
            {
                length = stream.Length - stream.Position;
                return true;
            }

            length = 0;
            return false;
        }
    }
}
