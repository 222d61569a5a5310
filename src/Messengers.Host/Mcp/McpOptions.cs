namespace Messengers.Host.Mcp;

/// <summary>Configuration section <c>Messengers:Mcp</c>.</summary>
public sealed class McpOptions
{
    public const string Section = "Messengers:Mcp";

    /// <summary>Answer MCP requests without a key (as the admin). Off unless set explicitly; never do this on a reachable port.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>A Streamable HTTP session without requests (and without an open GET stream) for this long is ended.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Idle Streamable HTTP sessions kept on this silo; past it the oldest idle ones are ended to make room.</summary>
    public int MaxSessions { get; set; } = 1000;

    /// <summary>
    /// Open sessions (Streamable HTTP and legacy SSE) one key may hold on this silo; one more is refused with 429 for that
    /// key only, so one tenant cannot take every session. 0 = no limit.
    /// </summary>
    public int MaxSessionsPerKey { get; set; } = 100;

    /// <summary>Tool calls one key may make per minute (every session and request of the key together); 0 = no limit.</summary>
    public int ToolCallsPerMinute { get; set; } = 300;
}
