namespace Messengers.Agents;

/// <summary>
/// The agent port: one call sends one user turn (text, media, recent history) to an agent and returns its reply.
/// Implementations are stateless singletons; everything a call needs travels in the <see cref="AgentRequest"/>.
/// </summary>
public interface IAgentBackend
{
    /// <summary>The registry name of the backend ("agno", "openai", "http", "echo", ...).</summary>
    string Name { get; }

    /// <summary>
    /// Whether the backend sends <see cref="AgentRequest.History"/> to its agent. Backends whose agent keeps the
    /// conversation itself (Agno's sessions) or ignores it (echo) say false, and the bridge does not read it.
    /// </summary>
    bool UsesHistory => true;

    /// <summary>
    /// Runs the agent once. Throws <see cref="AgentCallFailedException"/> when the agent could not be reached or
    /// answered with an error after the configured retries; returns <see cref="AgentReply.IsEmpty"/> when the agent
    /// chose not to reply.
    /// </summary>
    Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct);
}
