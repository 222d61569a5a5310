using Microsoft.AspNetCore.Authentication;

namespace Messengers.Host.Hosting;

/// <summary>Options of <see cref="ApiKeyAuthenticationHandler"/>, one set per scheme.</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The REST API's scheme: the admin key or an instance key, nothing else.</summary>
    public const string Scheme = "ApiKey";

    /// <summary>The MCP endpoints' scheme: the same keys, plus anonymous-as-admin when <c>Messengers:Mcp:AllowAnonymous</c> is on.</summary>
    public const string McpScheme = "McpApiKey";

    /// <summary>A request without an Authorization header is the admin ("anonymous"). Only the MCP scheme ever sets it.</summary>
    public bool AllowAnonymous { get; set; }
}
