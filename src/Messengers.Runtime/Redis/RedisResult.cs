using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Messengers.Runtime.Redis;

#pragma warning disable CA1720 // The names are RESP's own type names.

/// <summary>The kind of a RESP reply (RESP2 types plus the RESP3 ones the parser understands).</summary>
public enum RedisResultType
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    Null,
    Double,
    Boolean,
    BigNumber,
    Map,
    Set,
    Push,
}

/// <summary>
/// One reply from the server. Strings are kept as raw bytes (binary safe) and decoded as UTF-8 on demand; aggregates
/// (array, map, set, push) hold their items; a map holds its keys and values alternately, as RESP2 returns them.
/// </summary>
public sealed class RedisResult
{
    private static readonly RedisResult[] SmallIntegers = CreateSmallIntegers();

    private readonly byte[]? _bytes;
    private readonly RedisResult[]? _items;
    private readonly long _integer;
    private readonly double _double;

    private RedisResult(RedisResultType type, byte[]? bytes = null, RedisResult[]? items = null, long integer = 0, double number = 0)
    {
        Type = type;
        _bytes = bytes;
        _items = items;
        _integer = integer;
        _double = number;
    }

    public static RedisResult Null { get; } = new(RedisResultType.Null);

    public static RedisResult Ok { get; } = new(RedisResultType.SimpleString, "OK"u8.ToArray());

    public static RedisResult Pong { get; } = new(RedisResultType.SimpleString, "PONG"u8.ToArray());

    public static RedisResult EmptyArray { get; } = new(RedisResultType.Array, items: []);

    public static RedisResult True { get; } = new(RedisResultType.Boolean, integer: 1);

    public static RedisResult False { get; } = new(RedisResultType.Boolean, integer: 0);

    public RedisResultType Type { get; }

    /// <summary>A null bulk string, null array or RESP3 null.</summary>
    public bool IsNull => Type == RedisResultType.Null;

    public bool IsAggregate => _items is not null;

    /// <summary>Items of an aggregate; zero for scalars.</summary>
    public int Count => _items?.Length ?? 0;

    public RedisResult this[int index] => (_items ?? throw new InvalidOperationException($"A {Type} reply has no items."))[index];

    /// <summary>The raw bytes of a string, error, big number or the text of a number.</summary>
    public ReadOnlySpan<byte> Span => _bytes;

    public static RedisResult SimpleString(byte[] value) => value.AsSpan().SequenceEqual("OK"u8) ? Ok : new(RedisResultType.SimpleString, value);

    public static RedisResult Error(byte[] message) => new(RedisResultType.Error, message);

    public static RedisResult Bulk(byte[] value) => new(RedisResultType.BulkString, value);

    public static RedisResult Integer(long value) => value is >= 0 and < 256 ? SmallIntegers[value] : new(RedisResultType.Integer, integer: value);

    public static RedisResult Number(double value) => new(RedisResultType.Double, number: value);

    public static RedisResult Boolean(bool value) => value ? True : False;

    public static RedisResult BigNumber(byte[] digits) => new(RedisResultType.BigNumber, digits);

    public static RedisResult Aggregate(RedisResultType type, RedisResult[] items)
        => type is RedisResultType.Array or RedisResultType.Map or RedisResultType.Set or RedisResultType.Push
            ? items.Length == 0 && type == RedisResultType.Array ? EmptyArray : new(type, items: items)
            : throw new ArgumentOutOfRangeException(nameof(type));

    /// <summary>The items of an aggregate (empty for null).</summary>
    public ReadOnlySpan<RedisResult> AsSpan() => IsNull ? [] : _items ?? throw Unexpected("an aggregate");

    public RedisResult[] ToArray() => IsNull ? [] : _items ?? throw Unexpected("an aggregate");

    /// <summary>The value as UTF-8 text; null for a null reply.</summary>
    public string? AsString() => Type switch
    {
        RedisResultType.Null => null,
        RedisResultType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RedisResultType.Double => _double.ToString("R", CultureInfo.InvariantCulture),
        RedisResultType.Boolean => _integer != 0 ? "true" : "false",
        _ when _bytes is not null => Encoding.UTF8.GetString(_bytes),
        _ => throw Unexpected("a string"),
    };

    /// <summary>The raw bytes; null for a null reply.</summary>
    public byte[]? AsBytes() => Type switch
    {
        RedisResultType.Null => null,
        _ when _bytes is not null => _bytes,
        _ => Encoding.UTF8.GetBytes(AsString()!),
    };

    public long AsInt64()
    {
        switch (Type)
        {
            case RedisResultType.Integer:
            case RedisResultType.Boolean:
                return _integer;
            case RedisResultType.BulkString:
            case RedisResultType.SimpleString:
            case RedisResultType.BigNumber:
                if (Utf8Parser.TryParse(_bytes, out long value, out var consumed) && consumed == _bytes!.Length)
                {
                    return value;
                }

                break;
        }

        throw Unexpected("an integer");
    }

    public double AsDouble() => Type switch
    {
        RedisResultType.Double => _double,
        RedisResultType.Integer => _integer,
        _ when _bytes is not null && double.TryParse(Encoding.UTF8.GetString(_bytes), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw Unexpected("a number"),
    };

    public bool AsBoolean() => Type switch
    {
        RedisResultType.Boolean or RedisResultType.Integer => _integer != 0,
        RedisResultType.SimpleString => _bytes.AsSpan().SequenceEqual("OK"u8),
        _ => throw Unexpected("a boolean"),
    };

    /// <summary>A flat field/value array (HGETALL, XINFO, CONFIG GET) or a RESP3 map as a dictionary keyed by text.</summary>
    public Dictionary<string, RedisResult> ToDictionary()
    {
        var items = AsSpan();
        var result = new Dictionary<string, RedisResult>(items.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            result[items[i].AsString() ?? string.Empty] = items[i + 1];
        }

        return result;
    }

    public override string ToString() => Type switch
    {
        RedisResultType.Null => "(nil)",
        RedisResultType.Error => "(error) " + AsString(),
        RedisResultType.Array or RedisResultType.Map or RedisResultType.Set or RedisResultType.Push
            => "[" + string.Join(", ", _items!.Select(i => i.ToString())) + "]",
        _ => AsString() ?? string.Empty,
    };

    private InvalidCastException Unexpected(string wanted) => new($"Expected {wanted} reply, got {Type}: {Preview()}");

    private string Preview()
    {
        var text = ToString();
        return text.Length > 80 ? text[..80] + "..." : text;
    }

    private static RedisResult[] CreateSmallIntegers()
    {
        var values = new RedisResult[256];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = new RedisResult(RedisResultType.Integer, integer: i);
        }

        return values;
    }
}
