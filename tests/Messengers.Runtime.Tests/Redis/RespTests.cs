using System.Buffers;
using System.Text;
using Messengers.Runtime.Redis;

namespace Messengers.Runtime.Tests.Redis;

public sealed class RespTests
{
    [Fact]
    public void Parse_ReplySplitAtEveryByte_ParsesTheSameReply()
    {
        var wire = "*4\r\n$5\r\nhello\r\n:-42\r\n$-1\r\n*2\r\n+OK\r\n$0\r\n\r\n"u8.ToArray();
        for (var split = 1; split < wire.Length; split++)
        {
            var sequence = Segments(wire[..split], wire[split..]);
            Assert.True(Resp.TryParse(ref sequence, out var reply), $"split at {split}");
            Assert.Equal(0, sequence.Length);
            Assert.Equal("hello", reply[0].AsString());
            Assert.Equal(-42, reply[1].AsInt64());
            Assert.True(reply[2].IsNull);
            Assert.Equal("OK", reply[3][0].AsString());
            Assert.Equal(string.Empty, reply[3][1].AsString());
        }
    }

    [Fact]
    public void Parse_IncompleteReply_ReturnsFalseAndConsumesNothing()
    {
        var full = "$10\r\n0123456789\r\n+PONG\r\n"u8.ToArray();
        for (var length = 0; length < 17; length++)
        {
            var sequence = new ReadOnlySequence<byte>(full, 0, length);
            Assert.False(Resp.TryParse(ref sequence, out _), $"length {length}");
            Assert.Equal(length, sequence.Length);
        }

        var all = new ReadOnlySequence<byte>(full);
        Assert.True(Resp.TryParse(ref all, out var first));
        Assert.True(Resp.TryParse(ref all, out var second));
        Assert.Equal("0123456789", first.AsString());
        Assert.Equal("PONG", second.AsString());
        Assert.Equal(0, all.Length);
    }

    [Fact]
    public void Parse_BulkContainingCrLf_KeepsExactBytes()
    {
        var sequence = new ReadOnlySequence<byte>("$6\r\na\r\nb\0c\r\n"u8.ToArray());
        Assert.True(Resp.TryParse(ref sequence, out var reply));
        Assert.Equal("a\r\nb\0c"u8.ToArray(), reply.AsBytes());
    }

    [Fact]
    public void Parse_NullArrayAndEmptyArray_AreDistinct()
    {
        var sequence = new ReadOnlySequence<byte>("*-1\r\n*0\r\n"u8.ToArray());
        Assert.True(Resp.TryParse(ref sequence, out var nullArray));
        Assert.True(Resp.TryParse(ref sequence, out var empty));
        Assert.True(nullArray.IsNull);
        Assert.Equal(RedisResultType.Array, empty.Type);
        Assert.Equal(0, empty.Count);
    }

    [Fact]
    public void Parse_ErrorReply_KeepsMessage()
    {
        var sequence = new ReadOnlySequence<byte>("-NOGROUP No such key 'x'\r\n"u8.ToArray());
        Assert.True(Resp.TryParse(ref sequence, out var reply));
        Assert.Equal(RedisResultType.Error, reply.Type);
        Assert.Equal("NOGROUP No such key 'x'", reply.AsString());
    }

    [Fact]
    public void Parse_Resp3Types_MapToResults()
    {
        var wire = "%2\r\n+a\r\n,3.5\r\n+b\r\n#t\r\n~2\r\n_\r\n(12345678901234567890\r\n=8\r\ntxt:hiya\r\n>2\r\n+message\r\n:7\r\n|1\r\n+ttl\r\n:3\r\n:9\r\n!5\r\nERR x\r\n"u8.ToArray();
        var sequence = new ReadOnlySequence<byte>(wire);
        Assert.True(Resp.TryParse(ref sequence, out var map));
        Assert.Equal(RedisResultType.Map, map.Type);
        var dict = map.ToDictionary();
        Assert.Equal(3.5, dict["a"].AsDouble());
        Assert.True(dict["b"].AsBoolean());

        Assert.True(Resp.TryParse(ref sequence, out var set));
        Assert.Equal(RedisResultType.Set, set.Type);
        Assert.True(set[0].IsNull);
        Assert.Equal(RedisResultType.BigNumber, set[1].Type);
        Assert.Equal("12345678901234567890", set[1].AsString());

        Assert.True(Resp.TryParse(ref sequence, out var verbatim));
        Assert.Equal("hiya", verbatim.AsString());

        Assert.True(Resp.TryParse(ref sequence, out var push));
        Assert.Equal(RedisResultType.Push, push.Type);
        Assert.Equal(7, push[1].AsInt64());

        Assert.True(Resp.TryParse(ref sequence, out var afterAttribute));
        Assert.Equal(9, afterAttribute.AsInt64());

        Assert.True(Resp.TryParse(ref sequence, out var blobError));
        Assert.Equal(RedisResultType.Error, blobError.Type);
        Assert.Equal("ERR x", blobError.AsString());
        Assert.Equal(0, sequence.Length);
    }

    [Theory]
    [InlineData("?5\r\n")]
    [InlineData(":12x\r\n")]
    [InlineData("+OK\n")]
    [InlineData("$3\r\nabcXY")]
    public void Parse_MalformedInput_ThrowsProtocolException(string wire)
    {
        var sequence = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(wire));
        Assert.Throws<RedisProtocolException>(() => Resp.TryParse(ref sequence, out _));
    }

    [Fact]
    public void WriteCommand_MixedArguments_EncodesBulkStrings()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Resp.WriteCommand(buffer, ["SET", "ключ", 42, -7L, 1.5, new byte[] { 0, 13, 10 }, new ReadOnlyMemory<byte>([65])]);
        var expected = "*7\r\n$3\r\nSET\r\n$8\r\nключ\r\n$2\r\n42\r\n$2\r\n-7\r\n$3\r\n1.5\r\n$3\r\n\0\r\n\r\n$1\r\nA\r\n";
        Assert.Equal(Encoding.UTF8.GetBytes(expected), buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Options_FullConnectionString_ReadsEveryOption()
    {
        var options = RedisOptions.Parse("redis.local:6380, password=p=w,user=app,ssl=true,defaultDatabase=2,connectTimeout=1500,syncTimeout=700,name=silo-1,abortConnect=false");
        Assert.Equal("redis.local", options.Host);
        Assert.Equal(6380, options.Port);
        Assert.Equal("p=w", options.Password);
        Assert.Equal("app", options.User);
        Assert.True(options.Ssl);
        Assert.Equal(2, options.DefaultDatabase);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(700), options.CommandTimeout);
        Assert.Equal("silo-1", options.ClientName);
        Assert.DoesNotContain("p=w", options.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost", "localhost", 6379)]
    [InlineData("[::1]:7000", "::1", 7000)]
    [InlineData("10.0.0.1:7001,10.0.0.2:7002", "10.0.0.1", 7001)]
    public void Options_Endpoint_ParsesHostAndPort(string text, string host, int port)
    {
        var options = RedisOptions.Parse(text);
        Assert.Equal(host, options.Host);
        Assert.Equal(port, options.Port);
    }

    [Theory]
    [InlineData("127.0.0.1,bogus=1")]
    [InlineData("password=x")]
    [InlineData("127.0.0.1,connectTimeout=soon")]
    [InlineData("127.0.0.1,user=alone")]
    public void Options_InvalidConnectionString_ThrowsFormatException(string text)
        => Assert.Throws<FormatException>(() => RedisOptions.Parse(text));

    private static ReadOnlySequence<byte> Segments(byte[] first, byte[] second)
    {
        var a = new Segment(first, 0);
        var b = a.Append(second);
        return new ReadOnlySequence<byte>(a, 0, b, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
