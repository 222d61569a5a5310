using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Messengers.Testing.Fakes.OpenAi;

/// <summary>One message of a chat completions request: its role, its text (text parts joined) and any image URLs.</summary>
public sealed record FakeOpenAiMessage(string Role, string Text, IReadOnlyList<string> ImageUrls)
{
    /// <summary>The content parts in order (empty when <c>content</c> was a plain string).</summary>
    public IReadOnlyList<FakeOpenAiPart> Parts { get; init; } = [];

    /// <summary>The images sent inline as <c>data:</c> URLs, decoded.</summary>
    public IReadOnlyList<FakeOpenAiImage> Images { get; init; } = [];
}

/// <summary>A content part: <c>text</c> (with <see cref="Text"/>) or <c>image_url</c> (with <see cref="Url"/>).</summary>
public sealed record FakeOpenAiPart(string Type, string? Text, string? Url);

/// <summary>An image sent as a base64 <c>data:</c> URL.</summary>
public sealed record FakeOpenAiImage(string ContentType, byte[] Content);

/// <summary>What the fake saw of one chat completions request.</summary>
public sealed record FakeOpenAiRequest(
    string? Model,
    bool? Stream,
    IReadOnlyList<FakeOpenAiMessage> Messages,
    string? Authorization,
    string RawBody);

/// <summary>
/// A fake OpenAI-compatible server on loopback: <c>POST /v1/chat/completions</c>, streamed (SSE chunks with
/// <c>choices[0].delta.content</c>, then <c>data: [DONE]</c>) and not. Replies <c>"openai:{last user text}"</c> by default.
/// </summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<FakeOpenAiRequest> _requests = [];
    private LoopbackHttpServer _server = null!;

    private FakeOpenAiServer() { }

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var fake = new FakeOpenAiServer();
        fake._server = await LoopbackHttpServer.StartAsync(fake.HandleAsync);
        return fake;
    }

    /// <summary>The API root to configure as a base URL: <c>http://127.0.0.1:{port}/v1</c>.</summary>
    public string ApiBaseUrl => _server.BaseUrl + "/v1";

    public FakeFaults Faults => _server.Faults;

    public int RequestCount => _server.RequestCount;

    public IReadOnlyList<FakeOpenAiRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return _requests.ToArray();
            }
        }
    }

    /// <summary>Computes the reply; default <c>"openai:{text of the last user message}"</c>.</summary>
    public Func<FakeOpenAiRequest, string> Reply { get; set; } =
        r => "openai:" + (r.Messages.LastOrDefault(m => m.Role == "user")?.Text ?? "");

    public int ChunkSize { get; set; } = 3;

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    /// <summary><c>data:{type};base64,{bytes}</c>, or null when malformed.</summary>
    private static FakeOpenAiImage? DecodeDataUrl(string url)
    {
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var header = comma < 0 ? "" : url[5..comma];
        if (!header.EndsWith(";base64", StringComparison.Ordinal) || !header.StartsWith("image/", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return new FakeOpenAiImage(header[..^";base64".Length], Convert.FromBase64String(url[(comma + 1)..]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path != "/v1/chat/completions" || !HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = 404;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "Unknown route", type = "invalid_request_error" } });
            return;
        }

        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var raw = await reader.ReadToEndAsync(context.RequestAborted);
        var body = JsonNode.Parse(raw)!.AsObject();
        var messages = new List<FakeOpenAiMessage>();
        foreach (var node in body["messages"]?.AsArray() ?? [])
        {
            var role = node!["role"]!.GetValue<string>();
            var content = node["content"];
            if (content is JsonArray parts)
            {
                var recorded = parts.Select(p => new FakeOpenAiPart(
                    p!["type"]?.GetValue<string>() ?? "",
                    p["text"]?.GetValue<string>(),
                    p["image_url"]?["url"]?.GetValue<string>())).ToArray();
                var images = new List<FakeOpenAiImage>();
                foreach (var url in recorded.Where(p => p.Type == "image_url").Select(p => p.Url ?? ""))
                {
                    if (url.StartsWith("data:", StringComparison.Ordinal))
                    {
                        if (DecodeDataUrl(url) is not { } image)
                        {
                            // OpenAI answers a malformed image URL with 400 invalid_request_error.
                            context.Response.StatusCode = 400;
                            await context.Response.WriteAsJsonAsync(new { error = new { message = "Invalid image data URL", type = "invalid_request_error" } });
                            return;
                        }

                        images.Add(image);
                    }
                }

                messages.Add(new FakeOpenAiMessage(
                    role,
                    string.Concat(recorded.Where(p => p.Type == "text").Select(p => p.Text)),
                    recorded.Where(p => p.Type == "image_url").Select(p => p.Url ?? "").ToArray())
                {
                    Parts = recorded,
                    Images = images,
                });
            }
            else
            {
                messages.Add(new FakeOpenAiMessage(role, content?.GetValue<string>() ?? "", []));
            }
        }

        var request = new FakeOpenAiRequest(
            body["model"]?.GetValue<string>(),
            body["stream"]?.GetValue<bool>(),
            messages,
            context.Request.Headers.Authorization.ToString() is { Length: > 0 } auth ? auth : null,
            raw);
        lock (_lock)
        {
            _requests.Add(request);
        }

        var reply = Reply(request);
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        if (request.Stream != true)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id,
                @object = "chat.completion",
                created,
                model = request.Model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = reply }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 10, completion_tokens = 5, total_tokens = 15 },
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var ct = context.RequestAborted;
        async Task Send(object delta, string? finish)
        {
            var chunk = new { id, @object = "chat.completion.chunk", created, model = request.Model, choices = new[] { new { index = 0, delta, finish_reason = finish } } };
            await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        await Send(new { role = "assistant", content = "" }, null);
        var size = Math.Max(1, ChunkSize);
        for (var i = 0; i < reply.Length; i += size)
        {
            await Send(new { content = reply.Substring(i, Math.Min(size, reply.Length - i)) }, null);
        }

        await Send(new { }, "stop");
        await context.Response.WriteAsync("data: [DONE]\n\n", ct);
    }
}
