using System.Net.Http.Headers;

namespace Messengers.Agents.Reliability;

/// <summary>One attempt failed in a way a backend recognised (a status, an agent error, an unreadable reply).</summary>
internal sealed class AgentAttemptException : Exception
{
    public AgentAttemptException() : this(AgentFailureReason.InvalidReply, "agent attempt failed") { }

    public AgentAttemptException(string message) : this(AgentFailureReason.InvalidReply, message) { }

    public AgentAttemptException(string message, Exception innerException) : base(message, innerException) { }

    public AgentAttemptException(AgentFailureReason reason, string message, int? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        StatusCode = statusCode;
    }

    public AgentFailureReason Reason { get; } = AgentFailureReason.InvalidReply;

    public int? StatusCode { get; }

    public RetryConditionHeaderValue? RetryAfter { get; init; }

    public string? AgentErrorType { get; init; }

    /// <summary>5xx, 408 and 429 are worth another attempt; other statuses, agent errors and bad replies are not.</summary>
    public bool IsTransient => Reason == AgentFailureReason.HttpStatus && StatusCode is { } s && (s >= 500 || s == 408 || s == 429);
}
