using System.Text;
using System.Text.Json;
using Messengers.Agents.Reliability;

namespace Messengers.Agents.Agno;

/// <summary>
/// Folds Agno run events (v2 SSE events or v1 JSON chunks) or a whole run output into one reply: concatenates
/// content deltas, prefers <c>RunCompleted.content</c> when present, stops on RunCompleted, and turns RunError
/// and RunCancelled into failures. Unknown events are ignored.
/// </summary>
internal sealed class AgnoRunAccumulator
{
    private readonly StringBuilder _deltas = new();
    private readonly List<string> _urls = [];
    private string? _final;
    private string? _runId;
    private string? _sessionId;

    public bool Done { get; private set; }

    public void OnEvent(string json, string? sseEventName)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return;
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new AgentAttemptException(AgentFailureReason.InvalidReply, "the reply held malformed JSON", innerException: ex);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.String)
            {
                _final = root.GetString();
                Done = true;
                return;
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            _runId = Str(root, "run_id") ?? _runId;
            _sessionId = Str(root, "session_id") ?? _sessionId;
            CollectUrls(root);
            var name = Str(root, "event") ?? sseEventName;
            switch (name)
            {
                case null:
                    // A whole run output (non-streamed): content, else message, else response.
                    if (Str(root, "status") == "ERROR")
                    {
                        throw RunError(root);
                    }

                    _final = Content(root, "content") ?? Content(root, "message") ?? Content(root, "response") ?? string.Empty;
                    Done = true;
                    break;
                case "RunContent" or "RunResponseContent" or "RunResponse":
                    _deltas.Append(Content(root, "content"));
                    break;
                case "RunCompleted":
                    _final = Content(root, "content");
                    Done = true;
                    break;
                case "RunError":
                    throw RunError(root);
                case "RunCancelled":
                    throw new AgentAttemptException(AgentFailureReason.AgentError, "the agent run was cancelled: " + (Content(root, "content") ?? "no reason given"));
            }
        }
    }

    public AgentReply ToReply() => new(_final ?? _deltas.ToString())
    {
        RunId = _runId,
        SessionId = _sessionId,
        Urls = _urls.Distinct(StringComparer.Ordinal).ToArray(),
    };

    private static AgentAttemptException RunError(JsonElement root) =>
        new(AgentFailureReason.AgentError, "the agent reported an error: " + (Content(root, "content") ?? Str(root, "error") ?? "no message"))
        {
            AgentErrorType = Str(root, "error_type"),
        };

    private void CollectUrls(JsonElement root)
    {
        foreach (var key in (ReadOnlySpan<string>)["images", "videos", "audio", "files"])
        {
            if (root.TryGetProperty(key, out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && Str(item, "url") is { Length: > 0 } url)
                    {
                        _urls.Add(url);
                    }
                }
            }
        }
    }

    private static string? Str(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A string field as is; an object or array (structured output) as its JSON text.</summary>
    private static string? Content(JsonElement obj, string name) =>
        !obj.TryGetProperty(name, out var v) ? null : v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object or JsonValueKind.Array => v.GetRawText(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            _ => null,
        };
}
