using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Messengers.Testing.Fakes.S3;

/// <summary>
/// Verification of AWS Signature Version 4 as S3 does it: the Authorization header (access key, then the signature
/// over the canonical request) and the per-chunk and trailer signatures of <c>aws-chunked</c> uploads.
/// </summary>
internal sealed class S3SigV4
{
    private const string Algorithm = "AWS4-HMAC-SHA256";
    private static readonly string EmptyHash = Hex(SHA256.HashData([]));

    private readonly byte[] _signingKey;
    private readonly string _amzDate;
    private readonly string _scope;

    private S3SigV4(byte[] signingKey, string amzDate, string scope, string seedSignature)
    {
        _signingKey = signingKey;
        _amzDate = amzDate;
        _scope = scope;
        SeedSignature = seedSignature;
    }

    /// <summary>The request's signature: the first "previous signature" of a signed chunked upload.</summary>
    public string SeedSignature { get; }

    /// <summary>Checks the Authorization header of <paramref name="request"/>; throws <see cref="S3ErrorException"/> as S3 answers.</summary>
    public static S3SigV4 Verify(HttpRequest request, string rawPath, string rawQuery, string accessKey, string secretKey)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            throw new S3ErrorException(403, "AccessDenied", "Access Denied (no Authorization header; this fake accepts only AWS Signature Version 4).");
        }

        if (!header.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            throw new S3ErrorException(400, "AuthorizationHeaderMalformed", "Only AWS4-HMAC-SHA256 authorization is supported.");
        }

        var fields = header[(Algorithm.Length + 1)..]
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("Credential", out var credential) || !fields.TryGetValue("SignedHeaders", out var signedHeaders) || !fields.TryGetValue("Signature", out var signature))
        {
            throw new S3ErrorException(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; Credential, SignedHeaders and Signature are required.");
        }

        var scopeParts = credential.Split('/');
        if (scopeParts.Length != 5 || scopeParts[3] != "s3" || scopeParts[4] != "aws4_request")
        {
            throw new S3ErrorException(400, "AuthorizationHeaderMalformed", $"The authorization header is malformed; the Credential '{credential}' is not of the form KEY/DATE/REGION/s3/aws4_request.");
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(scopeParts[0]), Encoding.UTF8.GetBytes(accessKey)))
        {
            throw new S3ErrorException(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
        }

        var amzDate = request.Headers["x-amz-date"].ToString();
        var contentSha = request.Headers["x-amz-content-sha256"].ToString();
        if (amzDate.Length == 0 || contentSha.Length == 0)
        {
            throw new S3ErrorException(400, "InvalidRequest", "Missing required header for this request: x-amz-date and x-amz-content-sha256.");
        }

        var headerNames = signedHeaders.Split(';');
        if (!headerNames.Contains("host", StringComparer.Ordinal))
        {
            throw new S3ErrorException(400, "AuthorizationHeaderMalformed", "The host header must be signed.");
        }

        var canonical = new StringBuilder()
            .Append(request.Method).Append('\n')
            .Append(rawPath).Append('\n')
            .Append(CanonicalQuery(rawQuery)).Append('\n');
        foreach (var name in headerNames)
        {
            var value = string.Join(",", request.Headers[name].Select(v => string.Join(' ', (v ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))));
            canonical.Append(name).Append(':').Append(value.Trim()).Append('\n');
        }

        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(contentSha);

        var scope = string.Join('/', scopeParts[1..]);
        var signingKey = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), scopeParts[1]), scopeParts[2]), "s3"), "aws4_request");
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var expected = Hex(Hmac(signingKey, stringToSign));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            throw new S3ErrorException(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
        }

        return new S3SigV4(signingKey, amzDate, scope, signature);
    }

    /// <summary>The signature a chunk of a signed <c>aws-chunked</c> body must carry.</summary>
    public string ChunkSignature(string previous, ReadOnlySpan<byte> chunk)
        => Hex(Hmac(_signingKey, $"{Algorithm}-PAYLOAD\n{_amzDate}\n{_scope}\n{previous}\n{EmptyHash}\n{Hex(SHA256.HashData(chunk))}"));

    /// <summary>The signature of the trailing headers (each "name:value\n") of a signed chunked body.</summary>
    public string TrailerSignature(string previous, string trailers)
        => Hex(Hmac(_signingKey, $"{Algorithm}-TRAILER\n{_amzDate}\n{_scope}\n{previous}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(trailers)))}"));

    public static string Hex(byte[] data) => Convert.ToHexStringLower(data);

    /// <summary>RFC 3986 encoding with upper-case hex, as SigV4 wants for query names and values.</summary>
    public static string UriEncode(string value)
    {
        var result = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                result.Append(c);
            }
            else
            {
                result.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return result.ToString();
    }

    private static string CanonicalQuery(string rawQuery)
        => string.Join('&', S3Query.Parse(rawQuery)
            .Select(p => (Name: UriEncode(p.Key), Value: UriEncode(p.Value)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + p.Value));

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
