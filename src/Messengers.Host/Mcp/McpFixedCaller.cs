using Messengers.Host.Hosting;

namespace Messengers.Host.Mcp;

/// <summary>The caller of a stdio server: one key for the whole process.</summary>
public sealed record McpFixedCaller(Caller Caller);
