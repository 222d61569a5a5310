using System.Globalization;
using System.Text;

namespace Messengers.Testing.Fakes.S3;

/// <summary>
/// Decodes an <c>aws-chunked</c> request body: <c>hex-size[;chunk-signature=sig]\r\n data \r\n</c> repeated, a zero-size
/// chunk, then trailing headers (checksums) and an empty line. Signed chunks and signed trailers are verified.
/// </summary>
internal static class AwsChunkedBody
{
    public static (byte[] Payload, Dictionary<string, string> Trailers) Decode(byte[] body, S3SigV4? signer, bool withTrailer)
    {
        var payload = new MemoryStream();
        var trailers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var previous = signer?.SeedSignature;
        var position = 0;
        while (true)
        {
            var header = ReadLine(body, ref position);
            var parts = header.Split(';', 2);
            if (!int.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size < 0 || position + size > body.Length)
            {
                throw Incomplete($"bad chunk header '{header}'");
            }

            var chunk = body.AsSpan(position, size);
            if (signer is not null)
            {
                const string prefix = "chunk-signature=";
                if (parts.Length < 2 || !parts[1].StartsWith(prefix, StringComparison.Ordinal))
                {
                    throw new S3ErrorException(403, "SignatureDoesNotMatch", "A chunk of a signed streaming upload has no chunk-signature.");
                }

                var expected = signer.ChunkSignature(previous!, chunk);
                if (parts[1][prefix.Length..] != expected)
                {
                    throw new S3ErrorException(403, "SignatureDoesNotMatch", "The chunk signature we calculated does not match the signature you provided.");
                }

                previous = expected;
            }

            payload.Write(chunk);
            position += size;
            if (size == 0)
            {
                break;
            }

            if (ReadLine(body, ref position).Length != 0)
            {
                throw Incomplete("chunk data not followed by CRLF");
            }
        }

        if (withTrailer)
        {
            var signed = new StringBuilder();
            string? trailerSignature = null;
            string line;
            while ((line = ReadLine(body, ref position)).Length != 0)
            {
                var pair = line.Split(':', 2);
                if (pair.Length != 2)
                {
                    throw Incomplete($"bad trailer '{line}'");
                }

                if (pair[0].Equals("x-amz-trailer-signature", StringComparison.OrdinalIgnoreCase))
                {
                    trailerSignature = pair[1].Trim();
                }
                else
                {
                    trailers[pair[0].Trim()] = pair[1].Trim();
                    signed.Append(pair[0].Trim()).Append(':').Append(pair[1].Trim()).Append('\n');
                }
            }

            if (signer is not null && trailerSignature != signer.TrailerSignature(previous!, signed.ToString()))
            {
                throw new S3ErrorException(403, "SignatureDoesNotMatch", "The trailer signature we calculated does not match the signature you provided.");
            }
        }
        else if (ReadLine(body, ref position).Length != 0)
        {
            throw Incomplete("final chunk not followed by CRLF");
        }

        if (position != body.Length)
        {
            throw Incomplete("data after the final chunk");
        }

        return (payload.ToArray(), trailers);
    }

    private static string ReadLine(byte[] body, ref int position)
    {
        var end = body.AsSpan(position).IndexOf("\r\n"u8);
        if (end < 0)
        {
            throw Incomplete("missing CRLF");
        }

        var line = Encoding.ASCII.GetString(body, position, end);
        position += end + 2;
        return line;
    }

    private static S3ErrorException Incomplete(string what)
        => new(400, "IncompleteBody", $"The aws-chunked body is malformed: {what}.");
}
