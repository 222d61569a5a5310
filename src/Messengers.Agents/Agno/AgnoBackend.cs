using System.Collections.Frozen;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Messengers.Agents.Http;
using Messengers.Agents.Reliability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Agents.Agno;

/// <summary>
/// Calls an Agno agent in any of the three shapes found in the wild (peers.md §3): v2 AgentOS (form, SSE),
/// v1 Playground (form, concatenated JSON objects) and the agent-api template (JSON, bare-string reply).
/// <c>stream</c>, <c>session_id</c> and <c>user_id</c> are always sent; media go as multipart <c>files</c> parts
/// where the shape takes them, the others as a note in the message (an unknown type would fail the whole run with 400).
/// </summary>
internal sealed class AgnoBackend(IHttpClientFactory httpClients, AgentCallRunner runner, IOptions<AgentBackendOptions> options, ILogger<AgnoBackend> logger) : IAgentBackend
{
    public const string BackendName = "agno";

    private static readonly string[] Videos =
        ["video/x-flv", "video/quicktime", "video/mpeg", "video/mpegs", "video/mpgs", "video/mpg", "video/mp4", "video/webm", "video/wmv", "video/3gpp"];

    /// <summary>The types AgentOS turns into run inputs (agno os/routers/agents/router.py); any other fails the run with 400.</summary>
    internal static readonly FrozenSet<string> AgentOsTypes = FrozenSet.Create(
        StringComparer.Ordinal,
        [
            "image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/tif", "image/avif",
            "audio/wav", "audio/wave", "audio/mp3", "audio/mpeg", "audio/ogg", "audio/mp4", "audio/m4a", "audio/aac", "audio/flac",
            .. Videos,
            "application/pdf", "application/json", "application/x-javascript", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "text/javascript", "application/x-python", "text/x-python", "text/plain", "text/html", "text/css", "text/md", "text/csv", "text/xml", "text/rtf",
        ]);

    /// <summary>
    /// The types the v1 Playground turns into run inputs (agno app/playground/async_router.py). It would load documents
    /// into the agent's shared knowledge base (404 without one), so they are not sent.
    /// </summary>
    internal static readonly FrozenSet<string> PlaygroundTypes = FrozenSet.Create(
        StringComparer.Ordinal,
        ["image/png", "image/jpeg", "image/jpg", "image/webp", "audio/wav", "audio/mp3", "audio/mpeg", .. Videos]);

    private readonly long _maxAttachmentBytes = options.Value.MaxAttachmentBytes;

    public string Name => BackendName;

    /// <summary>Agno keeps each session's conversation itself (by session_id); the bridge sends only the new turn.</summary>
    public bool UsesHistory => false;

    public Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        return runner.RunAsync(BackendName, request, attemptCt => AttemptAsync(request, attemptCt), ct);
    }

    internal static string RunsPath(AgnoShape shape, string agentId)
    {
        var id = Uri.EscapeDataString(agentId);
        return shape switch
        {
            AgnoShape.Playground => $"v1/playground/agents/{id}/runs",
            AgnoShape.AgentApi => $"v1/agents/{id}/runs",
            _ => $"agents/{id}/runs",
        };
    }

    private async Task<AgentReply> AttemptAsync(AgentRequest request, CancellationToken ct)
    {
        var media = SelectMedia(request);
        try
        {
            return await SendAsync(request, media, ct);
        }
        catch (AgentAttemptException exception) when (media.Sent.Count > 0 && IsUnsupportedFileType(exception))
        {
            // An Agno version with a shorter type list than ours: the turn still goes through, its files named in the text.
            logger.AttachmentsNotSent(BackendName, request.AgentId, media.Sent.Count, request.ChatId, "the server refused their type; sent again without them");
            return await SendAsync(request, media.WithoutFiles("the agent server refused this file type"), ct);
        }
    }

    /// <summary>Agno's answer to a file part whose type it does not handle: 400 <c>{"detail":"Unsupported file type"}</c>.</summary>
    private static bool IsUnsupportedFileType(AgentAttemptException exception) =>
        exception is { Reason: AgentFailureReason.HttpStatus, StatusCode: 400 }
        && exception.Message.Contains("Unsupported file type", StringComparison.OrdinalIgnoreCase);

    private async Task<AgentReply> SendAsync(AgentRequest request, MediaSelection media, CancellationToken ct)
    {
        var endpoint = request.Endpoint;
        using var message = new HttpRequestMessage(HttpMethod.Post, AgentHttp.Combine(endpoint.BaseUrl, RunsPath(endpoint.Shape, request.AgentId)));
        AgentHttp.ApplyHeaders(message, endpoint);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(endpoint.Stream ? "text/event-stream" : "application/json"));
        if (media.Omitted.Count > 0)
        {
            logger.AttachmentsNotSent(BackendName, request.AgentId, media.Omitted.Count, request.ChatId, "mentioned in the message instead");
        }

        message.Content = endpoint.Shape == AgnoShape.AgentApi ? JsonBody(request, media) : FormBody(request, media);

        var client = httpClients.CreateClient(AgentBackendOptions.HttpClientName);
        using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
        await AgentHttp.EnsureSuccessAsync(response, ct);
        using var reader = await AgentHttp.OpenReaderAsync(response, ct);
        var reply = endpoint.Shape == AgnoShape.AgentApi
            ? await ReadAgentApiAsync(reader, response.Content.Headers.ContentType?.MediaType, ct)
            : await ReadRunAsync(reader, ct);
        logger.Replied(BackendName, request.AgentId, reply.Text.Length, reply.RunId);
        return reply;
    }

    /// <summary>The files the shape takes; the rest are mentioned in the message.</summary>
    internal MediaSelection SelectMedia(AgentRequest request) => request.Endpoint.Shape switch
    {
        AgnoShape.AgentApi => AgentMedia.Select(request, _maxAttachmentBytes, _ => false, "the agent-api shape takes no files"),
        AgnoShape.Playground => AgentMedia.Select(request, _maxAttachmentBytes, PlaygroundTypes.Contains, "the v1 Playground takes png/jpeg/webp images, wav/mp3 audio and video only"),
        _ => AgentMedia.Select(request, _maxAttachmentBytes, AgentOsTypes.Contains, "AgentOS does not take this file type"),
    };

    private static JsonContent JsonBody(AgentRequest request, MediaSelection media)
    {
        var body = new Dictionary<string, object?>
        {
            ["message"] = media.TextWithNotes(request.Text),
            ["stream"] = request.Endpoint.Stream,
            ["session_id"] = request.SessionId,
            ["user_id"] = request.UserId,
        };
        if (!string.IsNullOrEmpty(request.Endpoint.Model))
        {
            body["model"] = request.Endpoint.Model;
        }

        return JsonContent.Create(body);
    }

    private static MultipartFormDataContent FormBody(AgentRequest request, MediaSelection media)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(media.TextWithNotes(request.Text)), "message" },
            { new StringContent(request.Endpoint.Stream ? "true" : "false"), "stream" },
            { new StringContent(request.SessionId), "session_id" },
            { new StringContent(request.UserId), "user_id" },
        };
        foreach (var file in media.Sent)
        {
            var part = new ByteArrayContent(file.Content);
            // Agno compares the part's whole Content-Type with its lists: parameters ("; codecs=opus") would make it a 400.
            part.Headers.ContentType = MediaTypeHeaderValue.TryParse(AgentMedia.MediaType(file.ContentType), out var type)
                ? type
                : new MediaTypeHeaderValue("application/octet-stream");
            // Without a file name the part is a plain form field to FastAPI, not an UploadFile.
            form.Add(part, "files", string.IsNullOrEmpty(file.FileName) ? AgentMedia.Kind(file.ContentType) : file.FileName);
        }

        return form;
    }

    /// <summary>
    /// Reads an AgentOS or Playground answer, whatever format it came in: SSE events, concatenated JSON objects
    /// (stream events, or one run output), a bare JSON string, or plain text.
    /// </summary>
    internal static async Task<AgentReply> ReadRunAsync(StreamReader reader, CancellationToken ct)
    {
        var run = new AgnoRunAccumulator();
        var buffer = new char[4096];
        var mode = Mode.Unknown;
        var sse = new SseParser();
        var splitter = new JsonObjectSplitter();
        var events = new List<SseEvent>();
        var objects = new List<string>();
        var raw = new StringBuilder();
        long total = 0;

        int read;
        while (!run.Done && (read = await reader.ReadAsync(buffer, ct)) > 0)
        {
            AgentHttp.CheckLength(total += read);
            var chunk = buffer.AsMemory(0, read);
            if (mode == Mode.Unknown)
            {
                var span = chunk.Span.TrimStart();
                if (span.IsEmpty)
                {
                    continue;
                }

                mode = span[0] switch
                {
                    '{' => Mode.JsonObjects,
                    '"' => Mode.Raw,
                    _ when span.StartsWith("event:") || span.StartsWith("data:") || span.StartsWith(":") || span.StartsWith("id:") => Mode.Sse,
                    _ => Mode.Raw,
                };
            }

            switch (mode)
            {
                case Mode.Sse:
                    sse.Push(chunk.Span, events);
                    foreach (var e in events)
                    {
                        run.OnEvent(e.Data, e.Event);
                        if (run.Done)
                        {
                            break;
                        }
                    }

                    events.Clear();
                    break;
                case Mode.JsonObjects:
                    splitter.Push(chunk.Span, objects);
                    foreach (var json in objects)
                    {
                        run.OnEvent(json, null);
                        if (run.Done)
                        {
                            break;
                        }
                    }

                    objects.Clear();
                    break;
                default:
                    raw.Append(chunk.Span);
                    break;
            }
        }

        if (mode == Mode.Sse && !run.Done)
        {
            sse.Complete(events);
            foreach (var e in events)
            {
                run.OnEvent(e.Data, e.Event);
            }
        }

        if (mode == Mode.JsonObjects && splitter.HasPartial)
        {
            throw new AgentAttemptException(AgentFailureReason.InvalidReply, "the reply ended inside a JSON object");
        }

        if (mode == Mode.Raw)
        {
            return new AgentReply(ReadBareStringOrText(raw.ToString()));
        }

        return run.ToReply();
    }

    /// <summary>agent-api: a bare JSON string when not streaming, raw text pieces when streaming.</summary>
    internal static async Task<AgentReply> ReadAgentApiAsync(StreamReader reader, string? mediaType, CancellationToken ct)
    {
        var text = await AgentHttp.ReadAllAsync(reader, ct);
        var trimmed = text.AsSpan().Trim();
        if (mediaType == "application/json" && trimmed.Length > 0 && trimmed[0] == '{')
        {
            var run = new AgnoRunAccumulator();
            run.OnEvent(text, null);
            return run.ToReply();
        }

        return new AgentReply(mediaType == "application/json" ? ReadBareStringOrText(text) : text);
    }

    private static string ReadBareStringOrText(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length >= 2 && trimmed[0] == '"' && trimmed[^1] == '"')
        {
            try
            {
                return JsonSerializer.Deserialize<string>(trimmed) ?? string.Empty;
            }
            catch (JsonException)
            {
                // not a JSON string after all: keep the text as it came
            }
        }

        return text;
    }

    private enum Mode
    {
        Unknown,
        Sse,
        JsonObjects,
        Raw,
    }
}
