using System.Globalization;

namespace Messengers.Agents.Echo;

/// <summary>
/// A demo agent that needs no server: replies <c>"Echo: {text}"</c>; when media came along, <c>" [+N attachment(s)]"</c>
/// is appended; an empty message with no media gets no reply. No network, no retries, no circuit.
/// </summary>
internal sealed class EchoBackend : IAgentBackend
{
    public const string BackendName = "echo";

    public string Name => BackendName;

    public bool UsesHistory => false;

    public Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ct.ThrowIfCancellationRequested();
        if (string.IsNullOrWhiteSpace(request.Text) && request.Attachments.Count == 0)
        {
            return Task.FromResult(AgentReply.Empty);
        }

        var text = "Echo: " + request.Text;
        if (request.Attachments.Count > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" [+{request.Attachments.Count} attachment(s)]");
        }

        return Task.FromResult(new AgentReply(text) { SessionId = request.SessionId });
    }
}
