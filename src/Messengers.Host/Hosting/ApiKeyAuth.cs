using Microsoft.AspNetCore.Authentication;

namespace Messengers.Host.Hosting;

/// <summary>Who is calling: the admin, or the holder of one instance's key.</summary>
public sealed record Caller(bool IsAdmin, string? InstanceId, string KeyId)
{
    public bool MayUse(string instanceId) => IsAdmin || string.Equals(InstanceId, instanceId, StringComparison.Ordinal);
}

/// <summary>
/// Bearer-key authentication (<see cref="ApiKeyAuthenticationHandler"/>) as endpoint filters: <see cref="RequireAdmin"/> for admin routes; <see cref="RequireInstanceAccess"/>
/// for routes with an <c>{id}</c> that the admin key or that instance's own key may use (401 without a valid key, 403
/// for another instance's key).
/// </summary>
public static class ApiKeyAuth
{
    private const string CallerItem = "messengers.caller";

    public static Caller GetCaller(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return (Caller)context.Items[CallerItem]!;
    }

    public static TBuilder RequireAdmin<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilter(async (context, next) =>
        {
            var caller = await AuthenticateAsync(context.HttpContext);
            if (caller is null)
            {
                return Unauthorized();
            }

            return caller.IsAdmin ? await next(context) : Forbidden("This operation needs the admin key.");
        });

    public static TBuilder RequireInstanceAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilter(async (context, next) =>
        {
            var caller = await AuthenticateAsync(context.HttpContext);
            if (caller is null)
            {
                return Unauthorized();
            }

            var id = context.HttpContext.GetRouteValue("id") as string;
            return id is null || caller.MayUse(id) ? await next(context) : Forbidden("This key belongs to another instance.");
        });

    /// <summary>Checks the Bearer key through the <see cref="ApiKeyAuthenticationOptions.Scheme"/> scheme and remembers the caller for the request; null when there is no valid key.</summary>
    public static async Task<Caller?> AuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(CallerItem, out var known))
        {
            return (Caller?)known;
        }

        var result = await context.AuthenticateAsync(ApiKeyAuthenticationOptions.Scheme);
        var caller = result.Succeeded ? CallerClaims.FromPrincipal(result.Principal) : null;
        context.Items[CallerItem] = caller;
        return caller;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unauthorized()
        => TypedResults.Problem(title: "Unauthorized", detail: "Send a valid API key as 'Authorization: Bearer <key>'.", statusCode: StatusCodes.Status401Unauthorized);

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Forbidden(string detail)
        => TypedResults.Problem(title: "Forbidden", detail: detail, statusCode: StatusCodes.Status403Forbidden);
}

public static partial class Ids
{
    /// <summary>Instance ids: 3–40 lower-case letters, digits and '-', starting with a letter or digit.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9-]{2,39}$")]
    private static partial System.Text.RegularExpressions.Regex InstanceIdPattern();

    public static bool IsValidInstanceId(string? id) => id is not null && InstanceIdPattern().IsMatch(id);

    /// <summary>A new instance id: 12 lower-case base32 characters.</summary>
    public static string NewInstanceId()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        Span<byte> bytes = stackalloc byte[12];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return string.Create(12, bytes.ToArray(), (chars, b) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[b[i] % alphabet.Length];
            }
        });
    }
}
