using System.Security.Cryptography;
using System.Text;
using Messengers.Abstractions.Security;

namespace Messengers.Data.Security;

/// <summary>AES-256-GCM with a random nonce per value: <c>v1:{base64(nonce|ciphertext|tag)}</c>.</summary>
public sealed class AesGcmSecretProtector : ISecretProtector
{
    private const string Version = "v1:";
    private readonly byte[] _key;

    public AesGcmSecretProtector(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != 32)
        {
            throw new ArgumentException("The encryption key must be 32 bytes (base64 of 32 random bytes).", nameof(key));
        }

        _key = key;
    }

    /// <summary>The key from configuration (base64), or from <c>{dataPath}/encryption.key</c>, created on first start.</summary>
    public static AesGcmSecretProtector FromConfiguration(string? base64Key, string dataPath)
    {
        if (!string.IsNullOrWhiteSpace(base64Key))
        {
            return new AesGcmSecretProtector(Convert.FromBase64String(base64Key));
        }

        Directory.CreateDirectory(dataPath);
        var path = Path.Combine(dataPath, "encryption.key");
        if (!File.Exists(path))
        {
            var temp = path + ".tmp";
            File.WriteAllText(temp, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            File.Move(temp, path, overwrite: false);
        }

        return new AesGcmSecretProtector(Convert.FromBase64String(File.ReadAllText(path).Trim()));
    }

    public string Protect(string plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[12 + plain.Length + 16];
        var nonce = output.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(nonce, plain, output.AsSpan(12, plain.Length), output.AsSpan(12 + plain.Length, 16));
        return Version + Convert.ToBase64String(output);
    }

    public string Unprotect(string protectedText)
    {
        ArgumentNullException.ThrowIfNull(protectedText);
        if (!protectedText.StartsWith(Version, StringComparison.Ordinal))
        {
            throw new CryptographicException("The value is not a protected secret of a known version.");
        }

        var data = Convert.FromBase64String(protectedText[Version.Length..]);
        var plain = new byte[data.Length - 28];
        using var aes = new AesGcm(_key, 16);
        aes.Decrypt(data.AsSpan(0, 12), data.AsSpan(12, plain.Length), data.AsSpan(12 + plain.Length, 16), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
