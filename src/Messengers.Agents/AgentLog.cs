using Microsoft.Extensions.Logging;

namespace Messengers.Agents;

/// <summary>Source-generated log messages of the agent backends. None of them takes a key, a header value or a full URL.</summary>
internal static partial class AgentLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Backend} {AgentId} at {Endpoint} answered on attempt {Attempt}")]
    public static partial void AnsweredAfterRetry(this ILogger logger, string backend, string agentId, string endpoint, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Backend} {AgentId} at {Endpoint}: attempt {Attempt} of {MaxAttempts} failed ({Reason} {StatusCode}); retrying in {Delay}")]
    public static partial void AttemptFailed(this ILogger logger, string backend, string agentId, string endpoint, int attempt, int maxAttempts, AgentFailureReason reason, int? statusCode, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Backend} {AgentId} at {Endpoint} failed after {Attempts} attempt(s): {Reason} {StatusCode}")]
    public static partial void CallFailed(this ILogger logger, string backend, string agentId, string endpoint, int attempts, AgentFailureReason reason, int? statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit of agent {Backend} {AgentId} at {Endpoint} opened for {BreakDuration} after {Threshold} consecutive failures")]
    public static partial void CircuitOpened(this ILogger logger, string backend, string agentId, string endpoint, TimeSpan breakDuration, int threshold);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {Backend} {AgentId} at {Endpoint}: circuit open, failing fast until {RetryAt}")]
    public static partial void CircuitOpenFailFast(this ILogger logger, string backend, string agentId, string endpoint, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {Backend} {AgentId} replied with {Length} chars, run {RunId}")]
    public static partial void Replied(this ILogger logger, string backend, string agentId, int length, string? runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Backend} {AgentId}: {Count} attachment(s) of chat {ChatId} not sent ({Why})")]
    public static partial void AttachmentsNotSent(this ILogger logger, string backend, string agentId, int count, string chatId, string why);
}
