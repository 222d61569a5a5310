using System.Security.Claims;
using Messengers.Host.Hosting;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// Who calls a tool. Over HTTP the endpoint authenticates the Bearer key and puts the caller on every JSON-RPC message
/// as a <see cref="ClaimsPrincipal"/>; in stdio mode the key given at start is fixed for the process.
/// </summary>
public static class McpCaller
{
    private const string AuthenticationType = "messengers-api-key";
    private const string AdminClaim = "messengers:admin";
    private const string InstanceClaim = "messengers:instance";
    private const string KeyClaim = "messengers:key";

    public static ClaimsPrincipal ToPrincipal(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var claims = new List<Claim> { new(KeyClaim, caller.KeyId) };
        if (caller.IsAdmin)
        {
            claims.Add(new Claim(AdminClaim, "true"));
        }

        if (caller.InstanceId is not null)
        {
            claims.Add(new Claim(InstanceClaim, caller.InstanceId));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, AuthenticationType));
    }

    public static Caller? FromPrincipal(ClaimsPrincipal? principal)
    {
        if (principal?.Identity is not { AuthenticationType: AuthenticationType } || principal.FindFirst(KeyClaim) is not { } key)
        {
            return null;
        }

        return new Caller(principal.HasClaim(AdminClaim, "true"), principal.FindFirst(InstanceClaim)?.Value, key.Value);
    }

    /// <summary>The caller of this request: from the message's user, else the process-wide stdio caller; null when neither.</summary>
    public static Caller? Of(MessageContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return FromPrincipal(context.User) ?? context.Services?.GetService<McpFixedCaller>()?.Caller;
    }
}

/// <summary>The caller of a stdio server: one key for the whole process.</summary>
public sealed record McpFixedCaller(Caller Caller);
