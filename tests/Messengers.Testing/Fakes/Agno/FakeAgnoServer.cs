using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Messengers.Testing.Fakes.Agno;

/// <summary>The Agno request shape a fake request arrived in (peers.md §3).</summary>
public enum FakeAgnoShape
{
    /// <summary>v2 AgentOS: <c>POST /agents/{id}/runs</c>, form.</summary>
    AgentOs,

    /// <summary>v1 Playground: <c>POST /v1/playground/agents/{id}/runs</c>, form.</summary>
    Playground,

    /// <summary>agent-api template: <c>POST /v1/agents/{id}/runs</c>, JSON.</summary>
    AgentApi,
}

/// <summary>A file part the fake received.</summary>
public sealed record FakeAgnoFile(string FieldName, string FileName, string ContentType, byte[] Content);

/// <summary>Everything the fake saw of one run request (faulted requests are not recorded; see <see cref="FakeAgnoServer.RequestCount"/>).</summary>
public sealed record FakeAgnoRequest(
    FakeAgnoShape Shape,
    string AgentId,
    string? ContentType,
    IReadOnlyDictionary<string, string> Fields,
    IReadOnlyList<FakeAgnoFile> Files,
    string? Authorization,
    IReadOnlyDictionary<string, string> Headers,
    DateTimeOffset At)
{
    public string? Message => Fields.GetValueOrDefault("message");

    /// <summary>The <c>stream</c> field as sent ("true"/"false"), or null when the client left it out.</summary>
    public string? Stream => Fields.GetValueOrDefault("stream");

    public string? SessionId => Fields.GetValueOrDefault("session_id");

    public string? UserId => Fields.GetValueOrDefault("user_id");

    public string? Model => Fields.GetValueOrDefault("model");
}

/// <summary>
/// A fake Agno server on loopback speaking all three shapes, streamed and not, each in the format the real server
/// emits: AgentOS → SSE (RunStarted, RunContent deltas, ToolCallStarted, RunCompleted with the full content) or a
/// RunOutput object; Playground → back-to-back pretty-printed JSON objects (RunResponseContent deltas, then
/// RunCompleted without content) or a RunResponse object; agent-api → raw text pieces or a bare JSON string.
/// Without a <c>stream</c> field it uses each shape's server default (true; AgentOS: <see cref="AgentOsStreamDefault"/>).
/// The reply is <see cref="Reply"/> of the request, <c>"agno:{message}"</c> by default.
/// </summary>
public sealed class FakeAgnoServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<FakeAgnoRequest> _requests = [];
    private LoopbackHttpServer _server = null!;

    private FakeAgnoServer() { }

    public static async Task<FakeAgnoServer> StartAsync()
    {
        var fake = new FakeAgnoServer();
        fake._server = await LoopbackHttpServer.StartAsync(fake.HandleAsync);
        return fake;
    }

    /// <summary>The server root, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl => _server.BaseUrl;

    /// <summary>Faults and delays: <c>FailNext</c> (5xx N times, then OK), <c>RateLimitNext</c> (429 + Retry-After), <c>ReplyDelay</c> (slow).</summary>
    public FakeFaults Faults => _server.Faults;

    /// <summary>HTTP requests that reached the server, faulted ones included (the attempt count).</summary>
    public int RequestCount => _server.RequestCount;

    /// <summary>Run requests that got past the faults, in arrival order.</summary>
    public IReadOnlyList<FakeAgnoRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>Computes the reply text; default <c>"agno:{message}"</c>.</summary>
    public Func<FakeAgnoRequest, string> Reply { get; set; } = r => "agno:" + r.Message;

    /// <summary>When set, a run fails: streams end with a RunError event carrying this message; non-streamed runs answer status ERROR (agent-api: 500).</summary>
    public string? RunErrorMessage { get; set; }

    /// <summary>What AgentOS assumes when <c>stream</c> is missing (false in v2.0–2.3, true from v2.4).</summary>
    public bool AgentOsStreamDefault { get; set; } = true;

    /// <summary>Characters per streamed content delta.</summary>
    public int ChunkSize { get; set; } = 4;

    /// <summary>Agent ids the server knows; null accepts any id. Unknown ids get 404.</summary>
    public IReadOnlyCollection<string>? KnownAgents { get; set; }

    /// <summary>Agent ids answered with 503 (to break one agent while others on the same server keep working).</summary>
    public IReadOnlyCollection<string> FailingAgents { get; set; } = [];

    /// <summary>"Down" mode: stop listening (connection refused).</summary>
    /// <summary>File types refused with 400 "Unsupported file type" besides the built-in rules: an older Agno with a shorter list.</summary>
    public IReadOnlyCollection<string> UnsupportedFileTypes { get; set; } = [];

    public Task GoDownAsync() => _server.StopAsync();

    /// <summary>Listen again on the same port.</summary>
    public Task ComeBackAsync() => _server.RestartAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var segments = path.Trim('/').Split('/');
        (FakeAgnoShape Shape, string AgentId)? route = segments switch
        {
            ["v1", "playground", "agents", var id, "runs"] => (FakeAgnoShape.Playground, Uri.UnescapeDataString(id)),
            ["v1", "agents", var id, "runs"] => (FakeAgnoShape.AgentApi, Uri.UnescapeDataString(id)),
            ["agents", var id, "runs"] => (FakeAgnoShape.AgentOs, Uri.UnescapeDataString(id)),
            _ => null,
        };
        if (route is null || !HttpMethods.IsPost(context.Request.Method))
        {
            await Problem(context, 404, "Not Found");
            return;
        }

        var (shape, agentId) = route.Value;
        if (KnownAgents is { } known && !known.Contains(agentId))
        {
            await Problem(context, 404, "Agent not found");
            return;
        }

        if (FailingAgents.Contains(agentId))
        {
            await Problem(context, 503, "agent unavailable");
            return;
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<FakeAgnoFile>();
        if (shape == FakeAgnoShape.AgentApi)
        {
            if (context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
            {
                await Problem(context, 422, "agent-api takes a JSON body");
                return;
            }

            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                fields[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => p.Value.GetRawText(),
                };
            }
        }
        else
        {
            if (!context.Request.HasFormContentType)
            {
                await Problem(context, 422, "this route takes a form body");
                return;
            }

            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            foreach (var (key, value) in form)
            {
                fields[key] = value.ToString();
            }

            foreach (var file in form.Files)
            {
                using var ms = new MemoryStream();
                await file.CopyToAsync(ms, context.RequestAborted);
                files.Add(new FakeAgnoFile(file.Name, file.FileName, file.ContentType, ms.ToArray()));
            }
        }

        var request = new FakeAgnoRequest(
            shape,
            agentId,
            context.Request.ContentType,
            fields,
            files,
            context.Request.Headers.Authorization.ToString() is { Length: > 0 } auth ? auth : null,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            TimeProvider.System.GetUtcNow());
        lock (_lock)
        {
            _requests.Add(request);
        }

        if (!fields.ContainsKey("message"))
        {
            await Problem(context, 422, "field required: message");
            return;
        }

        if (files.Any(f => UnsupportedFileTypes.Contains(f.ContentType)))
        {
            await Problem(context, 400, "Unsupported file type");
            return;
        }

        if (FileRejection(shape, files) is { } rejection)
        {
            await Problem(context, rejection.Status, rejection.Detail);
            return;
        }

        var stream = request.Stream is { } s
            ? string.Equals(s, "true", StringComparison.OrdinalIgnoreCase)
            : shape != FakeAgnoShape.AgentOs || AgentOsStreamDefault;
        var text = Reply(request);
        var runId = Guid.NewGuid().ToString();
        var sessionId = request.SessionId ?? Guid.NewGuid().ToString();

        switch (shape)
        {
            case FakeAgnoShape.AgentOs when stream:
                await WriteAgentOsStreamAsync(context, request, text, runId, sessionId);
                break;
            case FakeAgnoShape.Playground when stream:
                await WritePlaygroundStreamAsync(context, request, text, runId, sessionId);
                break;
            case FakeAgnoShape.AgentApi when stream:
                await WriteAgentApiStreamAsync(context, text);
                break;
            case FakeAgnoShape.AgentApi:
                if (RunErrorMessage is { } apiError)
                {
                    await Problem(context, 500, apiError);
                    return;
                }

                await context.Response.WriteAsJsonAsync(text);
                break;
            default:
                var output = RunOutput(request, runId, sessionId, shape == FakeAgnoShape.Playground ? "RunResponse" : null);
                output["content"] = RunErrorMessage ?? text;
                output["status"] = RunErrorMessage is null ? "COMPLETED" : "ERROR";
                await context.Response.WriteAsJsonAsync(output);
                break;
        }
    }

    /// <summary>
    /// How the real servers treat file parts, matching each part's whole Content-Type header: AgentOS takes images,
    /// audio, video and text-like documents and answers 400 "Unsupported file type" to anything else; the v1 Playground
    /// takes png/jpeg/webp images, wav/mp3 audio and video, loads documents into the knowledge base (404 here: the fake's
    /// agents have none) and answers 400 to the rest.
    /// </summary>
    private static (int Status, string Detail)? FileRejection(FakeAgnoShape shape, IReadOnlyList<FakeAgnoFile> files)
    {
        foreach (var file in files)
        {
            var type = file.ContentType;
            var major = type.Split('/')[0];
            var isDocument = type is "application/pdf" or "application/json" or "text/plain" or "text/csv"
                or "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
            if (type.Contains(';', StringComparison.Ordinal))
            {
                return (400, "Unsupported file type");
            }

            if (shape == FakeAgnoShape.AgentOs && !(major is "image" or "audio" or "video" || isDocument))
            {
                return (400, "Unsupported file type");
            }

            if (shape == FakeAgnoShape.Playground && !(type is "image/png" or "image/jpeg" or "image/jpg" or "image/webp" or "audio/wav" or "audio/mp3" or "audio/mpeg" || major == "video"))
            {
                return isDocument ? (404, "KnowledgeBase not found") : (400, "Unsupported file type");
            }
        }

        return null;
    }

    private Dictionary<string, object?> RunOutput(FakeAgnoRequest request, string runId, string sessionId, string? eventName)
    {
        var output = new Dictionary<string, object?>
        {
            ["run_id"] = runId,
            ["agent_id"] = request.AgentId,
            ["agent_name"] = "Fake " + request.AgentId,
            ["session_id"] = sessionId,
            ["user_id"] = request.UserId,
            ["content_type"] = "str",
            ["model"] = "fake-model",
            ["model_provider"] = "Fake",
            ["metrics"] = new Dictionary<string, int> { ["input_tokens"] = 10, ["output_tokens"] = 5 },
            ["created_at"] = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(),
        };
        if (eventName is not null)
        {
            output["event"] = eventName;
        }

        return output;
    }

    private IEnumerable<string> Chunks(string text)
    {
        var size = Math.Max(1, ChunkSize);
        for (var i = 0; i < text.Length; i += size)
        {
            yield return text.Substring(i, Math.Min(size, text.Length - i));
        }
    }

    private async Task WriteAgentOsStreamAsync(HttpContext context, FakeAgnoRequest request, string text, string runId, string sessionId)
    {
        context.Response.ContentType = "text/event-stream";
        var ct = context.RequestAborted;
        Dictionary<string, object?> Event(string name)
        {
            var e = new Dictionary<string, object?>
            {
                ["event"] = name,
                ["created_at"] = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(),
                ["agent_id"] = request.AgentId,
                ["agent_name"] = "Fake " + request.AgentId,
                ["run_id"] = runId,
                ["session_id"] = sessionId,
            };
            return e;
        }

        async Task Send(Dictionary<string, object?> e)
        {
            await context.Response.WriteAsync($"event: {e["event"]}\ndata: {JsonSerializer.Serialize(e)}\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        var started = Event("RunStarted");
        started["model"] = "fake-model";
        started["model_provider"] = "Fake";
        await Send(started);
        var tool = Event("ToolCallStarted");
        tool["tool"] = new Dictionary<string, object?> { ["tool_name"] = "lookup" };
        await Send(tool);
        var chunks = Chunks(text).ToList();
        foreach (var piece in RunErrorMessage is null ? chunks : chunks.Take(1))
        {
            var delta = Event("RunContent");
            delta["content"] = piece;
            delta["content_type"] = "str";
            await Send(delta);
        }

        if (RunErrorMessage is { } error)
        {
            var failed = Event("RunError");
            failed["content"] = error;
            failed["error_type"] = "ModelProviderError";
            await Send(failed);
            return;
        }

        var completed = Event("RunCompleted");
        completed["content"] = text;
        completed["content_type"] = "str";
        completed["metrics"] = new Dictionary<string, int> { ["input_tokens"] = 10, ["output_tokens"] = 5 };
        await Send(completed);
    }

    private async Task WritePlaygroundStreamAsync(HttpContext context, FakeAgnoRequest request, string text, string runId, string sessionId)
    {
        context.Response.ContentType = "text/event-stream";
        var ct = context.RequestAborted;
        var indented = new JsonSerializerOptions { WriteIndented = true, IndentSize = 2 };

        async Task Send(Dictionary<string, object?> e)
        {
            // v1 yields chunk.to_json() back to back: pretty-printed objects, no separators, no SSE framing.
            await context.Response.WriteAsync(JsonSerializer.Serialize(e, indented), ct);
            await context.Response.Body.FlushAsync(ct);
        }

        Dictionary<string, object?> Event(string name, string? content) => new()
        {
            ["content"] = content,
            ["content_type"] = "str",
            ["event"] = name,
            ["run_id"] = runId,
            ["agent_id"] = request.AgentId,
            ["session_id"] = sessionId,
            ["created_at"] = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(),
        };

        var chunks = Chunks(text).ToList();
        foreach (var piece in RunErrorMessage is null ? chunks : chunks.Take(1))
        {
            await Send(Event("RunResponseContent", piece));
        }

        if (RunErrorMessage is { } error)
        {
            await Send(Event("RunError", error));
            return;
        }

        var completed = Event("RunCompleted", null);
        completed.Remove("content");
        await Send(completed);
    }

    private async Task WriteAgentApiStreamAsync(HttpContext context, string text)
    {
        // agent-api streams raw chunk.content pieces under text/event-stream with no framing.
        context.Response.ContentType = "text/event-stream";
        foreach (var piece in Chunks(text))
        {
            await context.Response.WriteAsync(piece, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private static async Task Problem(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new { detail });
    }
}

/// <summary>Helpers for tests that need Retry-After values.</summary>
public static class RetryAfterValues
{
    /// <summary>An HTTP-date (RFC 9110 IMF-fixdate) <paramref name="delay"/> from now.</summary>
    public static string HttpDate(TimeSpan delay) =>
        (TimeProvider.System.GetUtcNow() + delay).ToString("r", CultureInfo.InvariantCulture);

    public static string Seconds(int seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
