namespace Messengers.Agents;

/// <summary>Timeouts, retries and circuit breaking for every HTTP agent backend (configure with <c>AddAgentBackends(o => …)</c>).</summary>
public sealed class AgentBackendOptions
{
    /// <summary>Per-attempt timeout when the endpoint sets none. LLM calls with tools take tens of seconds.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts per call, the first included (1 = no retries).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Backoff before the second attempt; doubles per attempt, with jitter (half fixed, half random).</summary>
    public TimeSpan BaseRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Upper bound of a backoff delay, and the longest <c>Retry-After</c> honoured: an agent asking to wait longer
    /// fails the call at once instead of holding it.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Consecutive failed attempts (5xx, 408, 429, timeouts, connection errors) that open an endpoint's circuit.</summary>
    public int CircuitFailureThreshold { get; set; } = 5;

    /// <summary>How long an open circuit fails calls fast before one probe call is let through (half-open).</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Largest media file sent to an agent, in bytes (10 MB). Bigger files are not loaded nor sent: the agent gets a
    /// one-line note naming the file instead, and the turn goes on.
    /// </summary>
    public long MaxAttachmentBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Name of the <see cref="System.Net.Http.IHttpClientFactory"/> client the backends use.</summary>
    public const string HttpClientName = "Messengers.Agents";

    internal void Validate()
    {
        if (DefaultTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultTimeout), DefaultTimeout, "must be positive");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "must be at least 1");
        }

        if (BaseRetryDelay < TimeSpan.Zero || MaxRetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BaseRetryDelay), BaseRetryDelay, "retry delays must not be negative");
        }

        if (MaxAttachmentBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttachmentBytes), MaxAttachmentBytes, "must be at least 1");
        }

        if (CircuitFailureThreshold < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(CircuitFailureThreshold), CircuitFailureThreshold, "must be at least 1");
        }

        if (CircuitBreakDuration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CircuitBreakDuration), CircuitBreakDuration, "must be positive");
        }
    }
}
