using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Messengers.Agents.Http;
using Messengers.Agents.Reliability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Agents.HttpBot;

/// <summary>
/// A bot behind any URL: POSTs a <see cref="HttpBotEvent"/> as JSON to <see cref="AgentEndpoint.BaseUrl"/> and
/// reads <c>{"reply":"…"}</c>, a bare JSON string, or plain text. 204 or an empty body means "no reply"
/// (contract: src/Messengers.Agents/README.md).
/// </summary>
internal sealed class HttpBotBackend(IHttpClientFactory httpClients, AgentCallRunner runner, IOptions<AgentBackendOptions> options, ILogger<HttpBotBackend> logger) : IAgentBackend
{
    public const string BackendName = "http";

    private readonly long _maxAttachmentBytes = options.Value.MaxAttachmentBytes;

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
        message.Content = JsonContent.Create(HttpBotEvent.From(request, _maxAttachmentBytes), HttpBotJson.Default.HttpBotEvent);

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
    /// <summary>The event for <paramref name="request"/>; files over <paramref name="maxAttachmentBytes"/> are described without their bytes.</summary>
    public static HttpBotEvent From(AgentRequest request, long maxAttachmentBytes)
    {
        ArgumentNullException.ThrowIfNull(request);
        // A bot can handle any type itself: only the size limit applies.
        var media = AgentMedia.Select(request, maxAttachmentBytes, _ => true, "");
        return new(
            "message",
            request.InstanceId,
            request.ChatId,
            request.MessageId,
            request.AgentId,
            request.SessionId,
            request.UserId,
            request.Text,
            [.. media.Sent.Select(HttpBotAttachment.Of), .. media.Omitted.Select(HttpBotAttachment.Of)],
            request.History.Select(h => new HttpBotHistoryTurn(h.Role == AgentRole.Assistant ? "assistant" : "user", h.Text)).ToArray());
    }
}

/// <summary>
/// A media file in an <see cref="HttpBotEvent"/>: <paramref name="Type"/> is image, audio, video or document;
/// <paramref name="Base64"/> holds the bytes, or is null when the file was left out, <paramref name="Omitted"/> saying why.
/// </summary>
public sealed record HttpBotAttachment(string Type, string FileName, string ContentType, long Size, string? Base64, string? MediaId, string? Omitted)
{
    internal static HttpBotAttachment Of(AgentAttachment a) =>
        new(AgentMedia.Kind(a.ContentType), a.FileName, a.ContentType, a.Content.LongLength, Convert.ToBase64String(a.Content), a.MediaId, null);

    internal static HttpBotAttachment Of(AgentOmittedMedia m) =>
        new(AgentMedia.Kind(m.ContentType), m.FileName, m.ContentType, m.Size, null, m.MediaId, m.Reason);
}

/// <summary>A history turn in an <see cref="HttpBotEvent"/>: role "user" or "assistant".</summary>
public sealed record HttpBotHistoryTurn(string Role, string Text);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HttpBotEvent))]
internal sealed partial class HttpBotJson : JsonSerializerContext;
