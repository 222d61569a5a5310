using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Messengers.Agents.Http;
using Messengers.Agents.Reliability;
using Microsoft.Extensions.Logging;

namespace Messengers.Agents.HttpBot;

/// <summary>
/// A bot behind any URL: POSTs a <see cref="HttpBotEvent"/> as JSON to <see cref="AgentEndpoint.BaseUrl"/> and
/// reads <c>{"reply":"…"}</c>, a bare JSON string, or plain text. 204 or an empty body means "no reply"
/// (contract: src/Messengers.Agents/README.md).
/// </summary>
internal sealed class HttpBotBackend(IHttpClientFactory httpClients, AgentCallRunner runner, ILogger<HttpBotBackend> logger) : IAgentBackend
{
    public const string BackendName = "http";

    public string Name => BackendName;

    public Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        return runner.RunAsync(BackendName, request, attemptCt => AttemptAsync(request, attemptCt), ct);
    }

    private async Task<AgentReply> AttemptAsync(AgentRequest request, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, AgentHttp.Combine(request.Endpoint.BaseUrl, ""));
        AgentHttp.ApplyHeaders(message, request.Endpoint);
        message.Content = JsonContent.Create(HttpBotEvent.From(request), HttpBotJson.Default.HttpBotEvent);

        var client = httpClients.CreateClient(AgentBackendOptions.HttpClientName);
        using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
        await AgentHttp.EnsureSuccessAsync(response, ct);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return AgentReply.Empty;
        }

        using var reader = await AgentHttp.OpenReaderAsync(response, ct);
        var body = await AgentHttp.ReadAllAsync(reader, ct);
        var reply = ReadReply(body, response.Content.Headers.ContentType?.MediaType);
        logger.Replied(BackendName, request.AgentId, reply.Text.Length, reply.RunId);
        return reply;
    }

    internal static AgentReply ReadReply(string body, string? mediaType)
    {
        var trimmed = body.Trim();
        if (trimmed.Length == 0)
        {
            return AgentReply.Empty;
        }

        var looksJson = mediaType is "application/json" || (mediaType?.EndsWith("+json", StringComparison.Ordinal) ?? false);
        if (!looksJson && trimmed[0] != '{')
        {
            return new AgentReply(body);
        }

        try
        {
            using var doc = JsonDocument.Parse(trimmed);
            var root = doc.RootElement;
            return root.ValueKind switch
            {
                JsonValueKind.String => new AgentReply(root.GetString() ?? string.Empty),
                JsonValueKind.Object => new AgentReply(
                    root.TryGetProperty("reply", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() ?? string.Empty : string.Empty),
                JsonValueKind.Null => AgentReply.Empty,
                _ => throw new AgentAttemptException(AgentFailureReason.InvalidReply, "the bot answered JSON that is neither {\"reply\":…} nor a string"),
            };
        }
        catch (JsonException) when (!looksJson)
        {
            return new AgentReply(body);
        }
        catch (JsonException ex)
        {
            throw new AgentAttemptException(AgentFailureReason.InvalidReply, "the bot answered malformed JSON", innerException: ex);
        }
    }
}

/// <summary>The JSON event an HTTP bot receives (documented in README.md).</summary>
public sealed record HttpBotEvent(
    string Event,
    string InstanceId,
    string ChatId,
    string? MessageId,
    string AgentId,
    string SessionId,
    string UserId,
    string Text,
    IReadOnlyList<HttpBotAttachment> Attachments,
    IReadOnlyList<HttpBotHistoryTurn> History)
{
    public static HttpBotEvent From(AgentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new(
            "message",
            request.InstanceId,
            request.ChatId,
            request.MessageId,
            request.AgentId,
            request.SessionId,
            request.UserId,
            request.Text,
            request.Attachments.Select(a => new HttpBotAttachment(a.FileName, a.ContentType, Convert.ToBase64String(a.Content))).ToArray(),
            request.History.Select(h => new HttpBotHistoryTurn(h.Role == AgentRole.Assistant ? "assistant" : "user", h.Text)).ToArray());
    }
}

/// <summary>A media file in an <see cref="HttpBotEvent"/>.</summary>
public sealed record HttpBotAttachment(string FileName, string ContentType, string Base64);

/// <summary>A history turn in an <see cref="HttpBotEvent"/>: role "user" or "assistant".</summary>
public sealed record HttpBotHistoryTurn(string Role, string Text);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HttpBotEvent))]
internal sealed partial class HttpBotJson : JsonSerializerContext;
