namespace Messengers.Abstractions.Security;

/// <summary>Encrypts credentials at rest. Every silo of a cluster must share the key.</summary>
public interface ISecretProtector
{
    string Protect(string plaintext);

    string Unprotect(string protectedText);
}

/// <summary>API keys: generated with an instance prefix, stored only as hashes.</summary>
public static class ApiKeys
{
    public const string InstancePrefix = "msk_";
    public const string AdminPrefix = "msa_";

    /// <summary>A new instance key: <c>msk_{instanceId}_{secret}</c>, so a request names its instance without a lookup.</summary>
    public static string NewInstanceKey(string instanceId) => $"{InstancePrefix}{instanceId}_{RandomToken(24)}";

    public static string NewAdminKey() => AdminPrefix + RandomToken(32);

    /// <summary>The instance id named by an instance key, or null when the key is not one.</summary>
    public static string? InstanceIdOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!key.StartsWith(InstancePrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var last = key.LastIndexOf('_');
        return last > InstancePrefix.Length ? key[InstancePrefix.Length..last] : null;
    }

    /// <summary>SHA-256 hex of the key; keys are long random tokens, so a fast hash is enough.</summary>
    public static string Hash(string key)
        => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

    public static bool HashEquals(string a, string b)
        => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(a), System.Text.Encoding.ASCII.GetBytes(b));

    public static string RandomToken(int bytes)
        => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes)).TrimEnd('=').Replace('+', 'A').Replace('/', 'B');
}
