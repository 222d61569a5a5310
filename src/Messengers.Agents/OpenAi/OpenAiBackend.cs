using System.Collections.Frozen;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Messengers.Agents.Http;
using Messengers.Agents.Reliability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Agents.OpenAi;

/// <summary>
/// An OpenAI-compatible chat completions backend: <c>POST {BaseUrl}/chat/completions</c> (BaseUrl is the API root,
/// e.g. <c>https://api.openai.com/v1</c>). Messages: the system prompt, the history turns, then the user turn;
/// png/jpeg/gif/webp images go as <c>image_url</c> data-URL parts; other media are mentioned in the text (name, type,
/// size). Reads <c>choices[0].message.content</c>,
/// or SSE <c>choices[0].delta.content</c> pieces until <c>data: [DONE]</c>.
/// </summary>
internal sealed class OpenAiBackend(IHttpClientFactory httpClients, AgentCallRunner runner, IOptions<AgentBackendOptions> options, ILogger<OpenAiBackend> logger) : IAgentBackend
{
    public const string BackendName = "openai";

    /// <summary>The image types vision models take as <c>image_url</c> (OpenAI: png, jpeg, gif, webp).</summary>
    private static readonly FrozenSet<string> ImageTypes = FrozenSet.Create(StringComparer.Ordinal, ["image/png", "image/jpeg", "image/gif", "image/webp"]);

    private readonly long _maxAttachmentBytes = options.Value.MaxAttachmentBytes;

    public string Name => BackendName;

    public Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        return runner.RunAsync(BackendName, request, attemptCt => AttemptAsync(request, attemptCt), ct);
    }

    private async Task<AgentReply> AttemptAsync(AgentRequest request, CancellationToken ct)
    {
        var endpoint = request.Endpoint;
        if (string.IsNullOrWhiteSpace(endpoint.Model))
        {
            throw new AgentAttemptException(AgentFailureReason.Misconfigured, "the endpoint has no model, which chat completions require");
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, AgentHttp.Combine(endpoint.BaseUrl, "chat/completions"));
        AgentHttp.ApplyHeaders(message, endpoint);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(endpoint.Stream ? "text/event-stream" : "application/json"));
        message.Content = JsonContent.Create(BuildBody(request));

        var client = httpClients.CreateClient(AgentBackendOptions.HttpClientName);
        using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
        await AgentHttp.EnsureSuccessAsync(response, ct);
        using var reader = await AgentHttp.OpenReaderAsync(response, ct);
        var isSse = response.Content.Headers.ContentType?.MediaType == "text/event-stream";
        var reply = isSse ? await ReadStreamAsync(reader, ct) : ReadCompletion(await AgentHttp.ReadAllAsync(reader, ct));
        logger.Replied(BackendName, request.AgentId, reply.Text.Length, reply.RunId);
        return reply;
    }

    private JsonObject BuildBody(AgentRequest request)
    {
        var messages = new JsonArray();
        if (!string.IsNullOrWhiteSpace(request.Endpoint.SystemPrompt))
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = request.Endpoint.SystemPrompt });
        }

        foreach (var turn in request.History)
        {
            messages.Add(new JsonObject { ["role"] = turn.Role == AgentRole.Assistant ? "assistant" : "user", ["content"] = turn.Text });
        }

        var media = AgentMedia.Select(request, _maxAttachmentBytes, ImageTypes.Contains, "chat completions take png/jpeg/gif/webp images only");
        if (media.Omitted.Count > 0)
        {
            logger.AttachmentsNotSent(BackendName, request.AgentId, media.Omitted.Count, request.ChatId, "mentioned in the text instead");
        }

        var text = media.TextWithNotes(request.Text);
        if (media.Sent.Count == 0)
        {
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = text });
        }
        else
        {
            var parts = new JsonArray { new JsonObject { ["type"] = "text", ["text"] = text } };
            foreach (var image in media.Sent)
            {
                parts.Add(new JsonObject
                {
                    ["type"] = "image_url",
                    ["image_url"] = new JsonObject { ["url"] = $"data:{AgentMedia.MediaType(image.ContentType)};base64,{Convert.ToBase64String(image.Content)}" },
                });
            }

            messages.Add(new JsonObject { ["role"] = "user", ["content"] = parts });
        }

        return new JsonObject
        {
            ["model"] = request.Endpoint.Model,
            ["messages"] = messages,
            ["stream"] = request.Endpoint.Stream,
        };
    }

    internal static AgentReply ReadCompletion(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            ThrowOnError(root);
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("message", out var msg))
            {
                var content = msg.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                return new AgentReply(content ?? string.Empty) { RunId = Id(root) };
            }
        }
        catch (JsonException ex)
        {
            throw new AgentAttemptException(AgentFailureReason.InvalidReply, "the reply is not a chat completion JSON object", innerException: ex);
        }

        throw new AgentAttemptException(AgentFailureReason.InvalidReply, "the reply has no choices[0].message");
    }

    internal static async Task<AgentReply> ReadStreamAsync(StreamReader reader, CancellationToken ct)
    {
        var parser = new SseParser();
        var events = new List<SseEvent>();
        var text = new StringBuilder();
        string? id = null;
        var buffer = new char[4096];
        var done = false;
        long total = 0;
        int read;
        while (!done && (read = await reader.ReadAsync(buffer, ct)) > 0)
        {
            AgentHttp.CheckLength(total += read);
            parser.Push(buffer.AsSpan(0, read), events);
            done = Fold(events, text, ref id);
            events.Clear();
        }

        if (!done)
        {
            parser.Complete(events);
            Fold(events, text, ref id);
        }

        return new AgentReply(text.ToString()) { RunId = id };
    }

    private static bool Fold(List<SseEvent> events, StringBuilder text, ref string? id)
    {
        foreach (var e in events)
        {
            if (e.Data.Trim() == "[DONE]")
            {
                return true;
            }

            try
            {
                using var doc = JsonDocument.Parse(e.Data);
                var root = doc.RootElement;
                ThrowOnError(root);
                id ??= Id(root);
                if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
                {
                    foreach (var choice in choices.EnumerateArray())
                    {
                        if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                        {
                            text.Append(c.GetString());
                        }
                    }
                }
            }
            catch (JsonException ex)
            {
                throw new AgentAttemptException(AgentFailureReason.InvalidReply, "a stream event held malformed JSON", innerException: ex);
            }
        }

        return false;
    }

    private static void ThrowOnError(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var msg = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : "no message";
            var type = error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            throw new AgentAttemptException(AgentFailureReason.AgentError, "the model server reported an error: " + msg) { AgentErrorType = type };
        }
    }

    private static string? Id(JsonElement root) =>
        root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
}
