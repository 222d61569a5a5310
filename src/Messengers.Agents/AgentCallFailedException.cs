namespace Messengers.Agents;

/// <summary>Why an agent call failed.</summary>
public enum AgentFailureReason
{
    /// <summary>The agent answered with a non-success HTTP status (see <see cref="AgentCallFailedException.LastStatusCode"/>).</summary>
    HttpStatus,

    /// <summary>No complete reply within the per-attempt timeout.</summary>
    Timeout,

    /// <summary>The connection could not be made or broke (refused, reset, DNS, TLS).</summary>
    ConnectionFailed,

    /// <summary>The circuit breaker of the endpoint is open: the call was not attempted.</summary>
    CircuitOpen,

    /// <summary>The agent ran and reported an error (Agno <c>RunError</c>, an error object in a stream).</summary>
    AgentError,

    /// <summary>The agent answered something this backend cannot read.</summary>
    InvalidReply,

    /// <summary>The endpoint configuration is incomplete or invalid (e.g. no model for an OpenAI endpoint).</summary>
    Misconfigured,
}

/// <summary>
/// An agent call failed after its last attempt. The message says what happened and what an operator can do about
/// it; it never contains the API key, header values, URL user info or query strings.
/// </summary>
public sealed class AgentCallFailedException : Exception
{
    public AgentCallFailedException()
    {
        Backend = AgentId = Endpoint = string.Empty;
    }

    public AgentCallFailedException(string message) : base(message)
    {
        Backend = AgentId = Endpoint = string.Empty;
    }

    public AgentCallFailedException(string message, Exception innerException) : base(message, innerException)
    {
        Backend = AgentId = Endpoint = string.Empty;
    }

    public AgentCallFailedException(
        string backend,
        string agentId,
        string endpoint,
        AgentFailureReason reason,
        int attempts,
        int? lastStatusCode,
        string message,
        Exception? innerException = null) : base(message, innerException)
    {
        Backend = backend;
        AgentId = agentId;
        Endpoint = endpoint;
        Reason = reason;
        Attempts = attempts;
        LastStatusCode = lastStatusCode;
    }

    /// <summary>The backend name ("agno", "openai", "http", ...).</summary>
    public string Backend { get; }

    /// <summary>The agent id of the request.</summary>
    public string AgentId { get; }

    /// <summary>The endpoint URL without user info or query string.</summary>
    public string Endpoint { get; }

    public AgentFailureReason Reason { get; }

    /// <summary>How many HTTP attempts were made (0 when the circuit was open).</summary>
    public int Attempts { get; }

    /// <summary>The HTTP status of the last attempt, when there was a response.</summary>
    public int? LastStatusCode { get; }

    /// <summary>For <see cref="AgentFailureReason.AgentError"/>: the agent's error type (Agno <c>error_type</c>), when reported.</summary>
    public string? AgentErrorType { get; init; }

    /// <summary>For <see cref="AgentFailureReason.CircuitOpen"/>: when a probe call will be let through.</summary>
    public DateTimeOffset? RetryAt { get; init; }
}
