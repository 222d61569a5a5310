namespace Messengers.Host.Mcp;

/// <summary>Configuration section <c>Messengers:Mcp</c>.</summary>
public sealed class McpOptions
{
    public const string Section = "Messengers:Mcp";

    /// <summary>Answer MCP requests without a key (as the admin). Off unless set explicitly; never do this on a reachable port.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>A Streamable HTTP or legacy SSE session without requests for this long is ended.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Stored sessions (Streamable HTTP and legacy SSE together); further ones are refused with 503.</summary>
    public int MaxSessions { get; set; } = 1000;

    /// <summary>Tool calls one key may make per minute (every session and request of the key together); 0 = no limit.</summary>
    public int ToolCallsPerMinute { get; set; } = 300;
}
