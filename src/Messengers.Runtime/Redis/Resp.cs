using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Messengers.Runtime.Redis;

/// <summary>
/// RESP parsing and command encoding. The parser is incremental: <see cref="TryParse"/> returns false (and consumes
/// nothing) when the buffer holds only part of a reply, so a reader loop can wait for more bytes and try again.
/// </summary>
internal static class Resp
{
    /// <summary>Replies nested deeper than this are rejected instead of overflowing the stack.</summary>
    private const int MaxDepth = 64;

    /// <summary>Parses one complete reply from the front of <paramref name="buffer"/> and slices it off.</summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out RedisResult result)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!TryParse(ref reader, 0, out result!))
        {
            return false;
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }

    private static bool TryParse(ref SequenceReader<byte> reader, int depth, out RedisResult? result)
    {
        result = null;
        if (depth > MaxDepth)
        {
            throw new RedisProtocolException("Reply nested too deeply.");
        }

        while (true)
        {
            if (!reader.TryRead(out var prefix) || !TryReadLine(ref reader, out var line))
            {
                return false;
            }

            switch (prefix)
            {
                case (byte)'+':
                    result = RedisResult.SimpleString(line.ToArray());
                    return true;
                case (byte)'-':
                    result = RedisResult.Error(line.ToArray());
                    return true;
                case (byte)':':
                    result = RedisResult.Integer(ParseInt64(line));
                    return true;
                case (byte)'_':
                    result = RedisResult.Null;
                    return true;
                case (byte)'#':
                    result = line.Length == 1 && line[0] == (byte)'t' ? RedisResult.True
                        : line.Length == 1 && line[0] == (byte)'f' ? RedisResult.False
                        : throw new RedisProtocolException("Invalid boolean reply.");
                    return true;
                case (byte)',':
                    result = RedisResult.Number(ParseDouble(line));
                    return true;
                case (byte)'(':
                    result = RedisResult.BigNumber(line.ToArray());
                    return true;
                case (byte)'$':
                case (byte)'!':
                case (byte)'=':
                {
                    var length = ParseInt64(line);
                    if (length < 0)
                    {
                        result = RedisResult.Null;
                        return true;
                    }

                    if (length > int.MaxValue - 2)
                    {
                        throw new RedisProtocolException("Bulk string too long.");
                    }

                    if (reader.Remaining < length + 2)
                    {
                        return false;
                    }

                    var bytes = GC.AllocateUninitializedArray<byte>((int)length);
                    reader.TryCopyTo(bytes);
                    reader.Advance(length);
                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        throw new RedisProtocolException("Bulk string not terminated by CRLF.");
                    }

                    if (prefix == (byte)'=')
                    {
                        // Verbatim string: "txt:" or "mkd:" followed by the text.
                        bytes = bytes.Length >= 4 && bytes[3] == (byte)':' ? bytes[4..] : bytes;
                    }

                    result = prefix == (byte)'!' ? RedisResult.Error(bytes) : RedisResult.Bulk(bytes);
                    return true;
                }

                case (byte)'*':
                case (byte)'~':
                case (byte)'>':
                case (byte)'%':
                case (byte)'|':
                {
                    var count = ParseInt64(line);
                    if (count < 0)
                    {
                        result = RedisResult.Null;
                        return true;
                    }

                    var isPairs = prefix is (byte)'%' or (byte)'|';
                    var total = isPairs ? count * 2 : count;
                    if (total > reader.Remaining)
                    {
                        return false; // every item needs at least one byte
                    }

                    var items = total == 0 ? [] : new RedisResult[total];
                    for (var i = 0; i < items.Length; i++)
                    {
                        if (!TryParse(ref reader, depth + 1, out var item))
                        {
                            return false;
                        }

                        items[i] = item!;
                    }

                    if (prefix == (byte)'|')
                    {
                        continue; // an attribute describes the reply that follows it: skip it
                    }

                    var type = prefix switch
                    {
                        (byte)'~' => RedisResultType.Set,
                        (byte)'>' => RedisResultType.Push,
                        (byte)'%' => RedisResultType.Map,
                        _ => RedisResultType.Array,
                    };
                    result = RedisResult.Aggregate(type, items);
                    return true;
                }

                default:
                    throw new RedisProtocolException($"Unknown RESP type byte 0x{prefix:x2}.");
            }
        }
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> line)
    {
        if (!reader.TryReadTo(out line, (byte)'\n'))
        {
            return false;
        }

        if (line.Length == 0 || line[^1] != (byte)'\r')
        {
            throw new RedisProtocolException("Line not terminated by CRLF.");
        }

        line = line[..^1];
        return true;
    }

    private static long ParseInt64(ReadOnlySpan<byte> text)
        => Utf8Parser.TryParse(text, out long value, out var consumed) && consumed == text.Length
            ? value
            : throw new RedisProtocolException($"Invalid integer '{Encoding.ASCII.GetString(text)}'.");

    private static double ParseDouble(ReadOnlySpan<byte> text)
    {
        var s = Encoding.ASCII.GetString(text);
        return s switch
        {
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            "nan" => double.NaN,
            _ => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new RedisProtocolException($"Invalid double '{s}'."),
        };
    }

    /// <summary>Writes a command as an array of bulk strings. Arguments: string, byte[], ReadOnlyMemory&lt;byte&gt;, integers, double, or anything formattable.</summary>
    public static void WriteCommand(IBufferWriter<byte> writer, ReadOnlySpan<object> args)
    {
        WriteHeader(writer, (byte)'*', args.Length);
        foreach (var arg in args)
        {
            switch (arg)
            {
                case string s:
                    WriteString(writer, s);
                    break;
                case byte[] bytes:
                    WriteBulk(writer, bytes);
                    break;
                case ReadOnlyMemory<byte> memory:
                    WriteBulk(writer, memory.Span);
                    break;
                case int i:
                    WriteInteger(writer, i);
                    break;
                case long l:
                    WriteInteger(writer, l);
                    break;
                case double d:
                    WriteString(writer, d.ToString("R", CultureInfo.InvariantCulture));
                    break;
                case null:
                    throw new ArgumentException("A Redis command argument is null.", nameof(args));
                default:
                    WriteString(writer, Convert.ToString(arg, CultureInfo.InvariantCulture) ?? string.Empty);
                    break;
            }
        }
    }

    private static void WriteHeader(IBufferWriter<byte> writer, byte prefix, long value)
    {
        var span = writer.GetSpan(24);
        span[0] = prefix;
        Utf8Formatter.TryFormat(value, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        writer.Advance(written + 3);
    }

    private static void WriteInteger(IBufferWriter<byte> writer, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var length);
        WriteBulk(writer, digits[..length]);
    }

    private static void WriteString(IBufferWriter<byte> writer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteHeader(writer, (byte)'$', length);
        var span = writer.GetSpan(length + 2);
        Encoding.UTF8.GetBytes(value, span);
        span[length] = (byte)'\r';
        span[length + 1] = (byte)'\n';
        writer.Advance(length + 2);
    }

    private static void WriteBulk(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        WriteHeader(writer, (byte)'$', value.Length);
        var span = writer.GetSpan(value.Length + 2);
        value.CopyTo(span);
        span[value.Length] = (byte)'\r';
        span[value.Length + 1] = (byte)'\n';
        writer.Advance(value.Length + 2);
    }
}
