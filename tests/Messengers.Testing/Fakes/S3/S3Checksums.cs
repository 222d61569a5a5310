using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Messengers.Testing.Fakes.S3;

/// <summary>The flexible checksums S3 accepts in <c>x-amz-checksum-*</c> headers and trailers, as base64 of the digest.</summary>
internal static class S3Checksums
{
    private static readonly uint[] Crc32Table = Table(0xEDB88320u);
    private static readonly uint[] Crc32CTable = Table(0x82F63B78u);

    /// <summary>The base64 digest of <paramref name="data"/>, or null for an algorithm this fake does not know.</summary>
    public static string? Compute(string algorithm, byte[] data)
    {
#pragma warning disable CA5350 // SHA-1 is one of the checksums S3 offers; checking it is the point here
        return algorithm switch
        {
            "crc32" => BigEndian(Crc(Crc32Table, data)),
            "crc32c" => BigEndian(Crc(Crc32CTable, data)),
            "sha1" => Convert.ToBase64String(SHA1.HashData(data)),
            "sha256" => Convert.ToBase64String(SHA256.HashData(data)),
            _ => null,
        };
#pragma warning restore CA5350
    }

    public static string Md5(byte[] data)
    {
#pragma warning disable CA5351 // Content-MD5 is what S3 checks bodies with
        return Convert.ToBase64String(MD5.HashData(data));
#pragma warning restore CA5351
    }

    public static string Md5Hex(byte[] data)
    {
#pragma warning disable CA5351 // S3 ETags of single-part objects are the MD5 of the content
        return Convert.ToHexStringLower(MD5.HashData(data));
#pragma warning restore CA5351
    }

    private static string BigEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return Convert.ToBase64String(bytes);
    }

    private static uint Crc(uint[] table, byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] Table(uint reflectedPolynomial)
    {
        var table = new uint[256];
        for (var i = 0u; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? reflectedPolynomial ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
