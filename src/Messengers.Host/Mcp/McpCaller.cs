using Messengers.Host.Hosting;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// Who calls a tool. Over HTTP the request's user, authenticated by <see cref="ApiKeyAuthenticationHandler"/>, travels on
/// every JSON-RPC message; in stdio mode the key given at start is fixed for the process (<see cref="McpFixedCaller"/>).
/// </summary>
public static class McpCaller
{
    /// <summary>The caller of this request: from the message's user, else the process-wide stdio caller; null when neither.</summary>
    public static Caller? Of(MessageContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return CallerClaims.FromPrincipal(context.User) ?? context.Services?.GetService<McpFixedCaller>()?.Caller;
    }
}
