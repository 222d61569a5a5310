using System.Text.Encodings.Web;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Messengers.Host.Hosting;

/// <summary>
/// Bearer API keys as an ASP.NET Core authentication scheme, shared by the REST API (through <see cref="ApiKeyAuth"/>'s
/// filters) and the MCP endpoints (through their authorization policy): the admin key, or an instance key checked by its
/// instance grain. The principal carries the <see cref="Caller"/> (<see cref="CallerClaims"/>); its name identifier is
/// the key id, which is also what the MCP SDK binds a session to, so another key cannot use it.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminKey adminKey,
    IGrainFactory grains) : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Options.AllowAnonymous ? Success(new Caller(true, null, "anonymous")) : AuthenticateResult.NoResult();
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header is not 'Bearer <key>'.");
        }

        var key = header[BearerPrefix.Length..].Trim();
        if (adminKey.Matches(key))
        {
            return Success(new Caller(true, null, "admin"));
        }

        var hash = ApiKeys.Hash(key);
        if (ApiKeys.InstanceIdOf(key) is { } instanceId && Ids.IsValidInstanceId(instanceId)
            && await grains.GetGrain<IInstanceGrain>(instanceId).VerifyApiKeyAsync(hash))
        {
            return Success(new Caller(false, instanceId, hash[..12]));
        }

        return AuthenticateResult.Fail("The API key is not valid.");
    }

    /// <summary>
    /// 401 with a Bearer challenge saying whether a key was missing or wrong. MCP clients get a JSON-RPC error body (what
    /// they parse), anything else a problem. REST routes answer their own 401 in <see cref="ApiKeyAuth"/>'s filters.
    /// </summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var sent = Request.Headers.Authorization.Count > 0;
        Response.Headers.WWWAuthenticate = sent
            ? "Bearer realm=\"messengers\", error=\"invalid_token\", error_description=\"The API key is not valid.\""
            : "Bearer realm=\"messengers\"";
        const string Detail = "Send the admin key or an instance key as 'Authorization: Bearer <key>'.";
        if (Scheme.Name == ApiKeyAuthenticationOptions.McpScheme)
        {
            var error = new JsonRpcError { Id = default, Error = new JsonRpcErrorDetail { Code = -32000, Message = "Unauthorized: " + Detail } };
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.ContentType = "application/json";
            await Response.WriteAsync(JsonSerializer.Serialize<JsonRpcMessage>(error, McpJsonUtilities.DefaultOptions), Context.RequestAborted);
            return;
        }

        await TypedResults.Problem(title: "Unauthorized", detail: Detail, statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    private AuthenticateResult Success(Caller caller)
        => AuthenticateResult.Success(new AuthenticationTicket(CallerClaims.ToPrincipal(caller, Scheme.Name), Scheme.Name));
}
