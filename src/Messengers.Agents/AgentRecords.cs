using System.Text;
using System.Text.Json.Serialization;

namespace Messengers.Agents;

/// <summary>One user turn sent to an agent.</summary>
/// <param name="InstanceId">The messenger instance the message arrived on.</param>
/// <param name="ChatId">The chat (dialog) id within the instance.</param>
/// <param name="AgentId">The agent id at the backend (Agno agent id; a label for other backends).</param>
/// <param name="SessionId">The stable agent session id, usually <see cref="AgentSessionId.For"/>.</param>
/// <param name="UserId">The user id sent to the agent (Agno <c>user_id</c>).</param>
/// <param name="Text">The message text (may be empty when only media was sent).</param>
/// <param name="Attachments">Media sent by the user.</param>
/// <param name="History">Recent turns of the dialog, oldest first, not including this one.</param>
/// <param name="Endpoint">Where and how to call the agent.</param>
public sealed record AgentRequest(
    string InstanceId,
    string ChatId,
    string AgentId,
    string SessionId,
    string UserId,
    string Text,
    IReadOnlyList<AgentAttachment> Attachments,
    IReadOnlyList<AgentHistoryTurn> History,
    AgentEndpoint Endpoint)
{
    /// <summary>The provider message id of the user turn, when known (passed to HTTP bots).</summary>
    public string? MessageId { get; init; }

    /// <summary>
    /// Media of the turn whose bytes are not attached (over <see cref="AgentBackendOptions.MaxAttachmentBytes"/>, or
    /// gone from the media store); backends mention them in the text, HTTP bots get their description.
    /// </summary>
    public IReadOnlyList<AgentOmittedMedia> OmittedMedia { get; init; } = [];
}

/// <summary>A media file. <paramref name="Content"/> is serialized as base64 by System.Text.Json.</summary>
public sealed record AgentAttachment(string FileName, string ContentType, byte[] Content)
{
    /// <summary>The media store id, when the file came from an inbound message.</summary>
    public string? MediaId { get; init; }

    public override string ToString() => $"AgentAttachment {{ FileName = {FileName}, ContentType = {ContentType}, Length = {Content.Length} }}";
}

/// <summary>A media file of the turn that is not sent, and why (worded for the agent, e.g. "larger than the 10 MB limit").</summary>
public sealed record AgentOmittedMedia(string FileName, string ContentType, long Size, string Reason)
{
    /// <summary>The media store id, when the file came from an inbound message.</summary>
    public string? MediaId { get; init; }

    internal static AgentOmittedMedia Of(AgentAttachment attachment, string reason) =>
        new(attachment.FileName, attachment.ContentType, attachment.Content.LongLength, reason) { MediaId = attachment.MediaId };
}

/// <summary>Who spoke a history turn.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentRole>))]
public enum AgentRole
{
    User,
    Assistant,
}

/// <summary>One earlier turn of the dialog.</summary>
public sealed record AgentHistoryTurn(AgentRole Role, string Text);

/// <summary>The request shape an Agno server speaks (peers.md §3).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgnoShape>))]
public enum AgnoShape
{
    /// <summary>Agno v2 AgentOS: <c>POST {base}/agents/{id}/runs</c>, form; SSE when streaming.</summary>
    AgentOs,

    /// <summary>Agno v1 Playground: <c>POST {base}/v1/playground/agents/{id}/runs</c>, form; concatenated JSON objects when streaming.</summary>
    Playground,

    /// <summary>agent-api template: <c>POST {base}/v1/agents/{id}/runs</c>, JSON; a bare JSON string reply, raw text when streaming.</summary>
    AgentApi,
}

/// <summary>
/// Where and how to call an agent. <see cref="ApiKey"/> and header values are secrets: they are serialized (the
/// record crosses silos) but never logged, and <see cref="ToString"/> redacts them.
/// </summary>
/// <param name="BaseUrl">Agno: the server root; OpenAI: the API root including <c>/v1</c>; HTTP bot: the full URL.</param>
public sealed record AgentEndpoint(string BaseUrl)
{
    /// <summary>Sent as <c>Authorization: Bearer …</c> when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Agno request shape; ignored by other backends.</summary>
    public AgnoShape Shape { get; init; } = AgnoShape.AgentOs;

    /// <summary>Ask the agent to stream its reply (always sent explicitly to Agno).</summary>
    public bool Stream { get; init; }

    /// <summary>Per-attempt timeout; null uses <see cref="AgentBackendOptions.DefaultTimeout"/> (60 s).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Model name: required by OpenAI-compatible servers; sent to the Agno agent-api shape only.</summary>
    public string? Model { get; init; }

    /// <summary>System prompt (OpenAI-compatible backend).</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Extra request headers (values are treated as secrets).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    public override string ToString()
    {
        var sb = new StringBuilder("AgentEndpoint { BaseUrl = ").Append(SafeUrl.Redact(BaseUrl))
            .Append(", ApiKey = ").Append(ApiKey is null ? "(none)" : "***")
            .Append(", Shape = ").Append(Shape)
            .Append(", Stream = ").Append(Stream)
            .Append(", Timeout = ").Append(Timeout?.ToString() ?? "(default)")
            .Append(", Model = ").Append(Model ?? "(none)")
            .Append(", SystemPrompt = ").Append(SystemPrompt is null ? "(none)" : $"({SystemPrompt.Length} chars)")
            .Append(", Headers = [").Append(Headers is null ? "" : string.Join(", ", Headers.Keys.Select(k => k + "=***")))
            .Append("] }");
        return sb.ToString();
    }
}

/// <summary>An agent's reply. <see cref="IsEmpty"/> means "no reply" (nothing to send to the chat).</summary>
public sealed record AgentReply(string Text)
{
    /// <summary>The "no reply" value.</summary>
    public static AgentReply Empty { get; } = new(string.Empty);

    /// <summary>Media returned inline by the agent.</summary>
    public IReadOnlyList<AgentAttachment> Attachments { get; init; } = [];

    /// <summary>Media or links returned by URL.</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];

    /// <summary>The backend's run id (Agno <c>run_id</c>, OpenAI completion id), when reported.</summary>
    public string? RunId { get; init; }

    /// <summary>The session id the backend reports, when any.</summary>
    public string? SessionId { get; init; }

    [JsonIgnore]
    public bool IsEmpty => string.IsNullOrWhiteSpace(Text) && Attachments.Count == 0 && Urls.Count == 0;
}
