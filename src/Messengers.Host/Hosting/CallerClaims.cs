using System.Security.Claims;

namespace Messengers.Host.Hosting;

/// <summary>A <see cref="Caller"/> as a <see cref="ClaimsPrincipal"/> and back (the name identifier is the key id).</summary>
public static class CallerClaims
{
    private const string AdminClaim = "messengers:admin";
    private const string InstanceClaim = "messengers:instance";

    public static ClaimsPrincipal ToPrincipal(Caller caller, string authenticationType)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, caller.KeyId) };
        if (caller.IsAdmin)
        {
            claims.Add(new Claim(AdminClaim, "true"));
        }

        if (caller.InstanceId is not null)
        {
            claims.Add(new Claim(InstanceClaim, caller.InstanceId));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType));
    }

    /// <summary>The caller of an authenticated principal made by <see cref="ToPrincipal"/>; null for anything else.</summary>
    public static Caller? FromPrincipal(ClaimsPrincipal? principal)
    {
        if (principal?.Identity is not { IsAuthenticated: true } || principal.FindFirst(ClaimTypes.NameIdentifier) is not { } key)
        {
            return null;
        }

        return new Caller(principal.HasClaim(AdminClaim, "true"), principal.FindFirst(InstanceClaim)?.Value, key.Value);
    }
}
