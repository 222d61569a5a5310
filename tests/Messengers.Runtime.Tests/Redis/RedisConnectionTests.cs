using System.Diagnostics;
using System.Text;
using Messengers.Runtime.Redis;
using Messengers.Testing;

namespace Messengers.Runtime.Tests.Redis;

public sealed class RedisConnectionTests(RedisServer server) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private readonly string _prefix = "t:" + Guid.NewGuid().ToString("N")[..8] + ":";
    private RedisConnection _redis = null!;

    public async ValueTask InitializeAsync() => _redis = await RedisConnection.ConnectAsync(server.ConnectionString);

    public ValueTask DisposeAsync() => _redis.DisposeAsync();

    [Fact]
    public async Task Execute_BinaryUnicodeEmptyAndLargeValues_RoundTrip()
    {
        var large = new byte[1_000_000];
        new Random(7).NextBytes(large);
        await _redis.ExecuteAsync("SET", _prefix + "bin", new byte[] { 0, 13, 10, 255 });
        await _redis.ExecuteAsync("SET", _prefix + "text", "привет \r\n 👋");
        await _redis.ExecuteAsync("SET", _prefix + "empty", "");
        await _redis.ExecuteAsync("SET", _prefix + "large", large);

        Assert.Equal(new byte[] { 0, 13, 10, 255 }, (await _redis.GetAsync(_prefix + "bin")).AsBytes());
        Assert.Equal("привет \r\n 👋", await _redis.GetStringAsync(_prefix + "text"));
        Assert.Equal(string.Empty, await _redis.GetStringAsync(_prefix + "empty"));
        Assert.Equal(large, (await _redis.GetAsync(_prefix + "large")).AsBytes());
        Assert.True((await _redis.GetAsync(_prefix + "missing")).IsNull);
        Assert.Equal("PONG", await _redis.PingAsync());
    }

    [Fact]
    public async Task Execute_ThousandConcurrentCommands_EachCallerGetsItsOwnReply()
    {
        var counter = _prefix + "counter";
        var tasks = Enumerable.Range(0, 1000).Select(async i =>
        {
            var key = _prefix + "k" + i;
            await _redis.SetAsync(key, "v" + i);
            var incr = await _redis.IncrAsync(counter);
            var value = await _redis.GetStringAsync(key);
            return (i, incr, value);
        }).ToList();
        var results = await Task.WhenAll(tasks);

        Assert.All(results, r => Assert.Equal("v" + r.i, r.value));
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), results.Select(r => r.incr).Order());
        Assert.Equal("1000", await _redis.GetStringAsync(counter));
    }

    [Fact]
    public async Task Execute_ServerErrors_ThrowTypedExceptionsWithPrefix()
    {
        var unknown = await Assert.ThrowsAsync<RedisServerException>(() => _redis.ExecuteAsync("NOSUCHCOMMAND", "x"));
        Assert.Equal("ERR", unknown.Prefix);
        Assert.Contains("unknown command", unknown.ServerMessage, StringComparison.OrdinalIgnoreCase);

        await _redis.SetAsync(_prefix + "str", "x");
        var wrongType = await Assert.ThrowsAsync<RedisServerException>(() => _redis.HGetAsync(_prefix + "str", "f"));
        Assert.Equal("WRONGTYPE", wrongType.Prefix);

        var stream = _prefix + "s";
        await _redis.ExecuteAsync("XGROUP", "CREATE", stream, "g", "0", "MKSTREAM");
        var busy = await Assert.ThrowsAsync<RedisServerException>(() => _redis.ExecuteAsync("XGROUP", "CREATE", stream, "g", "0", "MKSTREAM"));
        Assert.Equal("BUSYGROUP", busy.Prefix);
        Assert.False(await _redis.XGroupCreateAsync(stream, "g", "0")); // tolerated by the helper

        var noGroup = await Assert.ThrowsAsync<RedisServerException>(() => _redis.XReadGroupAsync("nope", "c", [stream], count: 1));
        Assert.Equal("NOGROUP", noGroup.Prefix);

        Assert.Equal("PONG", await _redis.PingAsync()); // the connection is still in step
    }

    [Fact]
    public async Task Commands_StringsHashesSets_BehaveAsRedis()
    {
        var key = _prefix + "nx";
        Assert.True(await _redis.SetAsync(key, "a", TimeSpan.FromSeconds(30), onlyIfNotExists: true));
        Assert.False(await _redis.SetAsync(key, "b", onlyIfNotExists: true));
        Assert.Equal("a", await _redis.GetStringAsync(key));
        Assert.InRange((await _redis.ExecuteAsync("TTL", key)).AsInt64(), 1, 30);
        await _redis.SetAsync(key, "c", TimeSpan.FromMilliseconds(1500));
        Assert.InRange((await _redis.ExecuteAsync("PTTL", key)).AsInt64(), 1, 1500);
        Assert.True(await _redis.ExpireAsync(key, TimeSpan.FromSeconds(100)));
        Assert.False(await _redis.ExpireAsync(_prefix + "none", TimeSpan.FromSeconds(1)));
        Assert.Equal(1, await _redis.DelAsync(key));

        var hash = _prefix + "h";
        Assert.Equal(2, await _redis.HSetAsync(hash, [new("a", "1"), new("b", 2)]));
        Assert.Equal(0, await _redis.HSetAsync(hash, "a", "one"));
        Assert.Equal("one", (await _redis.HGetAsync(hash, "a")).AsString());
        Assert.Equal(1, await _redis.HDelAsync(hash, ["b", "zz"]));
        var all = await _redis.HGetAllAsync(hash);
        Assert.Equal(["a"], all.Keys);

        var set = _prefix + "set";
        Assert.Equal(2, await _redis.SAddAsync(set, ["x", "y", "x"]));
        Assert.Equal(1, await _redis.SRemAsync(set, ["y"]));
        Assert.Equal(["x"], await _redis.SMembersAsync(set));
    }

    [Fact]
    public async Task Commands_StreamGroupLifecycle_ReadAckPendingClaim()
    {
        var a = _prefix + "sa";
        var b = _prefix + "sb";
        Assert.True(await _redis.XGroupCreateAsync(a, "g", "0"));
        Assert.True(await _redis.XGroupCreateAsync(b, "g", "0"));
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await _redis.XAddAsync(a, "d", "a" + i, maxLength: 1000));
        }

        await _redis.XAddAsync(b, [new("d", "b0"), new("x", 1)]);

        var read = await _redis.XReadGroupAsync("g", "c1", [a, b], count: 3);
        Assert.Equal([a, b], read.Select(r => r.Key));
        Assert.Equal(["a0", "a1", "a2"], read[0].Entries.Select(e => e.Get("d")!.AsString()));
        Assert.Equal("1", read[1].Entries[0].Get("x")!.AsString());

        var summary = await _redis.XPendingAsync(a, "g");
        Assert.Equal(3, summary.Count);
        Assert.Equal(ids[0], summary.LowestId);
        Assert.Equal(3, summary.Consumers["c1"]);

        Assert.Equal(1, await _redis.XAckAsync(a, "g", ids[0]));
        var pending = await _redis.XPendingAsync(a, "g", "-", "+", 10);
        Assert.Equal([ids[1], ids[2]], pending.Select(p => p.Id));
        Assert.All(pending, p => Assert.Equal(1, p.DeliveryCount));

        var claimed = await _redis.XClaimAsync(a, "g", "c2", TimeSpan.Zero, [ids[1]]);
        Assert.Equal("a1", claimed.Single().Get("d")!.AsString());
        var auto = await _redis.XAutoClaimAsync(a, "g", "c3", TimeSpan.Zero, count: 10);
        Assert.Equal([ids[1], ids[2]], auto.Entries.Select(e => e.Id));
        var afterClaims = await _redis.XPendingAsync(a, "g", "-", "+", 10, consumer: "c3");
        Assert.Equal([3L, 2L], afterClaims.Select(p => p.DeliveryCount));

        var info = await _redis.XInfoStreamAsync(a);
        Assert.Equal(5, info["length"].AsInt64());
        var groups = await _redis.XInfoGroupsAsync(a);
        Assert.Equal("g", groups.Single()["name"].AsString());
        Assert.Equal(1, await _redis.XDelAsync(a, [ids[4]]));
        Assert.Equal(4, await _redis.XLenAsync(a));
        Assert.Equal(2, await _redis.XTrimAsync(a, 2, approximate: false));
        Assert.Equal(2, await _redis.XLenAsync(a));
    }

    [Fact]
    public async Task Eval_ScriptFlushedFromServer_FallsBackToEval()
    {
        const string script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
        var key = _prefix + "lua";
        Assert.Equal(5, (await _redis.EvalAsync(script, [key], [5])).AsInt64());
        await _redis.ExecuteAsync("SCRIPT", "FLUSH");
        Assert.Equal(8, (await _redis.EvalAsync(script, [key], [3])).AsInt64());
        await _redis.ExecuteAsync("SCRIPT", "LOAD", script);
        Assert.Equal(9, (await _redis.EvalAsync(script, [key], [1])).AsInt64());
    }

    [Fact]
    public async Task XReadGroup_BlockOnDedicatedConnection_ReturnsWhenEntryArrivesWithoutStallingShared()
    {
        var key = _prefix + "blk";
        await _redis.XGroupCreateAsync(key, "g", "$");
        await using var blocking = _redis.CreateDedicated();
        var read = blocking.XReadGroupAsync("g", "c", [key], count: 10, block: TimeSpan.FromSeconds(10));

        var ping = Stopwatch.StartNew();
        await _redis.PingAsync();
        Assert.True(ping.Elapsed < TimeSpan.FromSeconds(1));
        Assert.False(read.IsCompleted);

        await _redis.XAddAsync(key, "d", "hello");
        var result = await read.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("hello", result.Single().Entries.Single().Get("d")!.AsString());

        var empty = await blocking.XReadGroupAsync("g", "c", [key], count: 10, block: TimeSpan.FromMilliseconds(50));
        Assert.Empty(empty);
    }

    [Fact]
    public async Task Execute_NoReplyWithinTimeout_ThrowsTimeoutAndLateReplyIsNotMisattributed()
    {
        await using var dedicated = _redis.CreateDedicated();
        await dedicated.WaitConnectedAsync();
        var timedOut = await Assert.ThrowsAsync<RedisTimeoutException>(
            () => dedicated.ExecuteAsync(["BLPOP", _prefix + "never", "0.5"], TimeSpan.FromMilliseconds(100), CancellationToken.None));
        Assert.Contains("BLPOP", timedOut.Message, StringComparison.Ordinal);

        await dedicated.SetAsync(_prefix + "after", "mine");
        Assert.Equal("mine", await dedicated.GetStringAsync(_prefix + "after"));
    }

    [Fact]
    public async Task Execute_DefaultTimeoutExpires_ThrowsTimeoutFromTheSweep()
    {
        await using var dedicated = await RedisConnection.ConnectAsync(server.ConnectionString + ",syncTimeout=150");
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<RedisTimeoutException>(() => dedicated.ExecuteAsync("BLPOP", _prefix + "never", "1"));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(140), TimeSpan.FromMilliseconds(900));

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dedicated.ExecuteAsync(["BLPOP", _prefix + "never", "1"], null, cancel.Token));
    }

    [Fact]
    public async Task Connect_UserPasswordAndDatabase_AuthenticatesAndSelects()
    {
        var user = "u" + Guid.NewGuid().ToString("N")[..6];
        await _redis.ExecuteAsync("ACL", "SETUSER", user, "on", ">s3cret", "~*", "&*", "+@all");
        await using var other = await RedisConnection.ConnectAsync($"{server.ConnectionString},user={user},password=s3cret,defaultDatabase=3,name=tests");
        await other.SetAsync(_prefix + "db", "three");
        Assert.True((await _redis.GetAsync(_prefix + "db")).IsNull);
        Assert.Equal(user, (await other.ExecuteAsync("ACL", "WHOAMI")).AsString());
        Assert.Equal("tests", (await other.ExecuteAsync("CLIENT", "GETNAME")).AsString());

        var refused = await Assert.ThrowsAsync<RedisConnectionException>(
            () => RedisConnection.ConnectAsync($"{server.ConnectionString},user={user},password=wrong,connectTimeout=300"));
        var inner = Assert.IsType<RedisServerException>(refused.InnerException);
        Assert.Equal("WRONGPASS", inner.Prefix);
    }

    [Fact]
    public async Task Subscriber_OneOfTwoHandlersRemoved_OtherKeepsReceiving()
    {
        await using var subscriber = _redis.CreateSubscriber();
        var channel = _prefix + "shared";
        var first = new TaskCompletionSource<string>();
        var second = new List<string>();
        var secondGotTwo = new TaskCompletionSource();
        Action<RedisPubSubMessage> firstHandler = m => first.TrySetResult(m.Text!);
        await subscriber.SubscribeAsync(channel, firstHandler);
        await subscriber.SubscribeAsync(channel, m =>
        {
            lock (second)
            {
                second.Add(m.Text!);
                if (second.Count == 2)
                {
                    secondGotTwo.TrySetResult();
                }
            }
        });

        Assert.Equal(1, await _redis.PublishAsync(channel, "a"));
        Assert.Equal("a", await first.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        await subscriber.UnsubscribeAsync(channel, firstHandler);
        first = new TaskCompletionSource<string>();
        Assert.Equal(1, await _redis.PublishAsync(channel, "b")); // still subscribed on the server
        await secondGotTwo.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(first.Task.IsCompleted);
        Assert.Equal(["a", "b"], second);
    }

    [Fact]
    public async Task Subscriber_PublishToChannelAndPattern_HandlersReceiveUntilUnsubscribed()
    {
        await using var subscriber = _redis.CreateSubscriber();
        var channel = _prefix + "news";
        var direct = new List<string>();
        var patterned = new List<(string Channel, string Text)>();
        var gotBoth = new TaskCompletionSource();
        await subscriber.SubscribeAsync(channel, m =>
        {
            lock (direct)
            {
                direct.Add(m.Text!);
            }
        });
        await subscriber.PSubscribeAsync(_prefix + "n*", m =>
        {
            lock (patterned)
            {
                patterned.Add((m.Channel, m.Text!));
                if (patterned.Count == 2)
                {
                    gotBoth.TrySetResult();
                }
            }
        });

        Assert.Equal(2, await _redis.PublishAsync(channel, "one"));
        Assert.Equal(1, await _redis.PublishAsync(_prefix + "nope", Encoding.UTF8.GetBytes("two")));
        await gotBoth.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([(channel, "one"), (_prefix + "nope", "two")], patterned);

        await subscriber.UnsubscribeAsync(channel);
        await subscriber.PUnsubscribeAsync(_prefix + "n*");
        Assert.Equal(0, await _redis.PublishAsync(channel, "three"));
        lock (direct)
        {
            Assert.Equal(["one"], direct);
        }
    }
}
