using System.Collections.Concurrent;
using Messengers.Runtime.Redis;
using Messengers.Runtime.Streams;
using Messengers.Runtime.Streams.Redis;
using Messengers.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Runtime.Tests.Streams;

/// <summary>Redis killed and restarted under a running consumer. Each test has its own server.</summary>
public sealed class RedisStreamFaultTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly StreamSubscriptionOptions Options = new()
    {
        VisibilityTimeout = TimeSpan.FromMilliseconds(800),
        RetryDelay = TimeSpan.FromMilliseconds(50),
        MaxDeliveryAttempts = 1000,
        MaxConcurrency = 8,
    };

    [Fact]
    public async Task Consumer_PersistentRedisKilledAndRestarted_ResumesAndLosesNoStoredEntry()
    {
        await using var server = await RedisServer.StartAsync(persistent: true);
        await using var redis = await RedisConnection.ConnectAsync(server.ConnectionString + ",reconnectMaxDelay=200,syncTimeout=1000", cancellationToken: TestContext.Current.CancellationToken);
        await using var provider = new RedisStreamProvider("fault", redis, new RedisStreamOptions { MaxErrorBackoff = TimeSpan.FromMilliseconds(200) }, TimeProvider.System, NullLoggerFactory.Instance);
        var ns = "fault";
        var handled = new ConcurrentDictionary<int, int>();
        await using var subscription = await provider.SubscribeAsync<int>(ns, "g", async (e, ct) =>
        {
            await Task.Delay(1, ct);
            handled.AddOrUpdate(e.Item, 1, (_, n) => n + 1);
        }, Options, TestContext.Current.CancellationToken);

        // Produce continuously; the server is killed and restarted in the middle. An OnNextAsync that returned was stored.
        var stored = new ConcurrentBag<int>();
        var producing = Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                try
                {
                    await provider.GetStream<int>(StreamId.Create(ns, $"k{i % 5}")).OnNextAsync(i);
                    stored.Add(i);
                }
                catch (RedisException)
                {
                    // Not stored (or unknown): the producer would retry; this test only counts confirmed entries.
                }

                await Task.Delay(2);
            }
        }, TestContext.Current.CancellationToken);

        await WaitUntilAsync(() => stored.Count >= 100);
        await server.KillAsync();
        await Task.Delay(300, TestContext.Current.CancellationToken);
        await server.RestartAsync();
        await producing;

        Assert.True(stored.Count >= 200, $"only {stored.Count} entries were stored");
        Assert.True(redis.ConnectionEpoch >= 2, "the shared connection reconnected");
        await WaitUntilAsync(() => stored.All(handled.ContainsKey));
        await WaitUntilAsync(() => provider.UnacknowledgedCountAsync(ns, "g").Result == 0);
        Assert.All(stored, i => Assert.True(handled.ContainsKey(i)));
    }

    [Fact]
    public async Task Consumer_RedisRestartedWithoutPersistence_RecreatesGroupsAndReceivesNewEntries()
    {
        await using var server = await RedisServer.StartAsync();
        await using var redis = await RedisConnection.ConnectAsync(server.ConnectionString + ",reconnectMaxDelay=200,syncTimeout=1000", cancellationToken: TestContext.Current.CancellationToken);
        await using var provider = new RedisStreamProvider("fault", redis, new RedisStreamOptions { MaxErrorBackoff = TimeSpan.FromMilliseconds(200) }, TimeProvider.System, NullLoggerFactory.Instance);
        var seen = new ConcurrentBag<int>();
        await using var subscription = await provider.SubscribeAsync<int>("ns", "g", (e, _) => { seen.Add(e.Item); return Task.CompletedTask; }, Options, TestContext.Current.CancellationToken);
        var stream = provider.GetStream<int>(StreamId.Create("ns", "k"));
        await stream.OnNextAsync(1, TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => seen.Contains(1));

        await server.RestartAsync(); // everything in Redis is gone: streams, groups, registry

        await WaitUntilAsync(() => TryProduce(stream, 2) && seen.Contains(2));
        await provider.GetStream<int>(StreamId.Create("ns", "fresh")).OnNextAsync(3, TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => seen.Contains(3));
        Assert.Equal([1, 2, 3], seen.Distinct().Order());
    }

    private static bool TryProduce(IAsyncStream<int> stream, int value)
    {
        try
        {
            stream.OnNextAsync(value).GetAwaiter().GetResult();
            return true;
        }
        catch (RedisException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
