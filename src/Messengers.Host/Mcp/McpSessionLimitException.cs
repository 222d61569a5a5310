namespace Messengers.Host.Mcp;

/// <summary>A key asked for one MCP session more than <see cref="McpOptions.MaxSessionsPerKey"/>; answered 429.</summary>
public sealed class McpSessionLimitException : Exception
{
    public McpSessionLimitException() : base("Too many MCP sessions for this key.") { }

    public McpSessionLimitException(string message) : base(message) { }

    public McpSessionLimitException(string message, Exception inner) : base(message, inner) { }
}
