namespace Messengers.Agents.Turns;

/// <summary>How agent turns run, retry and give up (host configuration: <c>Messengers:Agents:Bridge</c>).</summary>
public sealed class AgentBridgeOptions
{
    /// <summary>Agent calls running at once across all instances and chats (a chat has at most one).</summary>
    public int MaxCallsInFlight { get; set; } = 256;

    /// <summary>
    /// Calls of one message (or debounced batch) before it is dead-lettered; each call already includes the backend's
    /// own quick retries (<see cref="AgentBackendOptions.MaxAttempts"/>). Failures that retrying cannot fix (4xx but
    /// 408/429, a misconfigured endpoint, an unreadable reply) are dead-lettered at once.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the second call of a message; doubles per call, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a chat's deactivation (a silo stopping) waits for its running agent call before abandoning it (its messages are answered after the next start).</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(20);

    internal void Validate()
    {
        if (MaxCallsInFlight < 1 || MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCallsInFlight), "MaxCallsInFlight and MaxAttempts must be at least 1");
        }

        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < TimeSpan.Zero || ShutdownGrace < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), "RetryDelay, MaxRetryDelay and ShutdownGrace must not be negative");
        }
    }
}
