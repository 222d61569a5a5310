using Messengers.Runtime.Redis;
using Messengers.Testing;

namespace Messengers.Runtime.Tests.Redis;

public sealed class RedisReconnectTests
{
    [Fact]
    public async Task Connection_ServerKilledAndRestarted_PendingFailsTypedAndLaterCommandsSucceed()
    {
        await using var server = await RedisServer.StartAsync();
        await using var redis = await RedisConnection.ConnectAsync(server.ConnectionString + ",reconnectMaxDelay=200");
        await redis.SetAsync("k", "v");
        var epoch = redis.ConnectionEpoch;

        await using var blocking = redis.CreateDedicated();
        await blocking.WaitConnectedAsync();
        var pending = blocking.ExecuteAsync(["BLPOP", "list", "10"], TimeSpan.FromSeconds(20), CancellationToken.None);
        await Task.Delay(50);

        await server.KillAsync();
        var lost = await Assert.ThrowsAsync<RedisConnectionException>(() => pending);
        Assert.Contains("connection", lost.Message, StringComparison.OrdinalIgnoreCase);
        var down = await Assert.ThrowsAsync<RedisConnectionException>(() => redis.ExecuteAsync(["PING"], TimeSpan.FromMilliseconds(300), CancellationToken.None));
        Assert.Contains("not reachable", down.Message, StringComparison.Ordinal);

        await server.RestartAsync();
        Assert.Equal("PONG", await redis.PingAsync());
        Assert.True(redis.ConnectionEpoch > epoch);
        await redis.SetAsync("k", "again");
        Assert.Equal("again", await redis.GetStringAsync("k"));
        Assert.Equal("PONG", await blocking.PingAsync());
    }

    [Fact]
    public async Task Subscriber_ServerRestarted_SubscribesAgainAndReceives()
    {
        await using var server = await RedisServer.StartAsync();
        await using var redis = await RedisConnection.ConnectAsync(server.ConnectionString + ",reconnectMaxDelay=200");
        await using var subscriber = redis.CreateSubscriber();
        var received = new TaskCompletionSource<string>();
        await subscriber.SubscribeAsync("ch", m => received.TrySetResult(m.Text!));
        var epoch = subscriber.ConnectionEpoch;

        await server.RestartAsync();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (await PublishWhenUpAsync(redis) == 0 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal("after restart", await received.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(subscriber.ConnectionEpoch > epoch);
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_ThrowsConnectionException()
    {
        int port;
        await using (var server = await RedisServer.StartAsync())
        {
            port = server.Port;
        }

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync($"127.0.0.1:{port},connectTimeout=300"));
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    private static async Task<long> PublishWhenUpAsync(RedisConnection redis)
    {
        try
        {
            return await redis.PublishAsync("ch", "after restart");
        }
        catch (RedisException)
        {
            return 0;
        }
    }
}
