using System.Collections.Concurrent;
using Messengers.Streaming.Redis.Tests.Support;
using Messengers.Testing;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis.Tests;

/// <summary>Redis is killed and restarted while producers keep sending through a running silo.</summary>
public sealed class RedisRestartTests
{
    private const string Provider = "restart";
    private const string Prefix = "restart";
    private const int Producers = 4;

    [Fact]
    public async Task RedisRestartedUnderLoad_ProducersKeepSending_EveryEntryTheyWroteSuccessfullyIsDelivered()
    {
        await using var redis = new PersistentRedisServer();
        await redis.InitializeAsync();
        // Short client timeouts so that a write to the dead server fails in about a second.
        var connection = redis.ConnectionString + ",connectTimeout=1000,asyncTimeout=1500,syncTimeout=1500";
        await using var cluster = await StreamingCluster.StartAsync(1,
            [new(Provider, o => { o.ConnectionString = connection; o.KeyPrefix = Prefix; o.QueueCount = 2; })]);
        var succeeded = new ConcurrentBag<(string Stream, int Number)>();
        var failures = 0;
        using var stop = new CancellationTokenSource();

        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            var key = $"load-{p}";
            var stream = cluster.Stream(Provider, StreamNamespaces.Recorded, key);
            var id = StreamId.Create(StreamNamespaces.Recorded, key).ToString();
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    await stream.OnNextAsync(new TestEvent(n));
                    succeeded.Add((id, n));
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException || exception.InnerException is RedisException or TimeoutException)
                {
                    Interlocked.Increment(ref failures);
                }

                await Task.Delay(5, CancellationToken.None);
            }
        }, CancellationToken.None)).ToArray();

        await Eventually.UntilAsync(() => Task.FromResult(cluster.Recorder.Events.Count >= 50), 30, "traffic to flow before the restart");
        await redis.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await redis.RestartAsync();
        var countAtRestart = succeeded.Count;
        await Eventually.UntilAsync(() => Task.FromResult(succeeded.Count >= countAtRestart + 50), 60, "producers to succeed again after the restart");
        await stop.CancelAsync();
        await Task.WhenAll(producers);

        var written = succeeded.ToHashSet();
        await Eventually.UntilAsync(
            () => Task.FromResult(written.IsSubsetOf(cluster.Recorder.Events.Where(e => e.Provider == Provider).Select(e => (e.Stream, e.Number)))),
            60,
            $"all {written.Count} successful writes to be delivered ({failures} writes failed while Redis was down)");
        TestContext.Current.TestOutputHelper?.WriteLine($"{written.Count} writes succeeded, {failures} failed while Redis was down; {cluster.Recorder.Events.Count} deliveries.");
        await using var inspector = await RedisInspector.ConnectAsync(redis.ConnectionString);
        var queueKeys = new[] { cluster.QueueKey(Prefix, Provider, 0), cluster.QueueKey(Prefix, Provider, 1) };
        await Eventually.UntilAsync(async () => await inspector.PendingAsync(queueKeys) == 0, 60, "every delivered entry to be acknowledged");
    }
}
