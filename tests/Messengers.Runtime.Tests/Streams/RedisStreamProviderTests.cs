using System.Collections.Concurrent;
using Messengers.Runtime.Hosting;
using Messengers.Runtime.Redis;
using Messengers.Runtime.Streams;
using Messengers.Runtime.Streams.Redis;
using Messengers.Runtime.Tests.Contracts;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Runtime.Tests.Streams;

/// <summary>The stream provider contract on a real redis-server, plus what is specific to Redis.</summary>
public sealed class RedisStreamProviderTests(RedisServer server) : StreamProviderContract, IClassFixture<RedisServer>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private RedisConnection _redis = null!;
    private RedisStreamProvider _provider = null!;

    protected override IStreamProvider Provider => _provider;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisConnection.ConnectAsync(server.ConnectionString);
        _provider = new RedisStreamProvider("test", _redis, new RedisStreamOptions { MaxLength = 10_000 }, TimeProvider.System, NullLoggerFactory.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task OnNext_NewStreamId_WritesOneRedisStreamPerIdAndRegistersTheKey()
    {
        var ns = "layout:" + Guid.NewGuid().ToString("N")[..8]; // a colon in the namespace is escaped
        var id = await _provider.GetStream<SampleEvent>(StreamId.Create(ns, "chat:42")).OnNextAsync(new SampleEvent("chat:42", 1, "hi"), TestContext.Current.CancellationToken);
        await _provider.GetStream<SampleEvent>(StreamId.Create(ns, "other")).OnNextAsync(new SampleEvent("other", 1, "hi"), TestContext.Current.CancellationToken);

        var escaped = ns.Replace(":", "%3A", StringComparison.Ordinal);
        Assert.Equal($"msg:{escaped}:chat:42", _provider.StreamKey(ns, "chat:42"));
        Assert.Equal(1, await _redis.XLenAsync($"msg:{escaped}:chat:42", TestContext.Current.CancellationToken));
        Assert.Equal(["chat:42", "other"], (await _redis.SMembersAsync($"msg:{escaped}", TestContext.Current.CancellationToken)).Order());
        var stored = await _redis.ExecuteAsync("XRANGE", $"msg:{escaped}:chat:42", "-", "+");
        Assert.Equal(id, stored[0][0].AsString());
        Assert.Equal("d", stored[0][1][0].AsString());
        Assert.Equal("{\"key\":\"chat:42\",\"sequence\":1,\"text\":\"hi\"}", stored[0][1][1].AsString());
    }

    [Fact]
    public async Task OnNext_BeyondMaxLength_TrimsTheStreamApproximately()
    {
        await using var bounded = new RedisStreamProvider("bounded", _redis, new RedisStreamOptions { MaxLength = 100 }, TimeProvider.System, NullLoggerFactory.Instance);
        var ns = "trim" + Guid.NewGuid().ToString("N")[..8];
        var stream = bounded.GetStream<int>(StreamId.Create(ns, "k"));
        await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => stream.OnNextAsync(i, TestContext.Current.CancellationToken)));
        var length = await _redis.XLenAsync(bounded.StreamKey(ns, "k"), TestContext.Current.CancellationToken);
        Assert.InRange(length, 100, 300);
    }

    [Fact]
    public async Task Consumer_DiedHoldingEntries_LiveMemberReclaimsThemAfterVisibilityTimeout()
    {
        var ns = "died" + Guid.NewGuid().ToString("N")[..8];
        var options = Fast with { VisibilityTimeout = TimeSpan.FromMilliseconds(400), ConsumerName = "live" };
        var stream = _provider.GetStream<SampleEvent>(StreamId.Create(ns, "a"));
        await stream.OnNextAsync(new SampleEvent("a", 0, "x"), TestContext.Current.CancellationToken);
        await stream.OnNextAsync(new SampleEvent("a", 1, "y"), TestContext.Current.CancellationToken);

        // A consumer process read both entries and died before acknowledging: they sit in its pending list.
        var key = _provider.StreamKey(ns, "a");
        await _redis.XGroupCreateAsync(key, "g", "0", cancellationToken: TestContext.Current.CancellationToken);
        var started = TimeProvider.System.GetTimestamp(); // before the read, so the idle time counts from after it
        var taken = await _redis.XReadGroupAsync("g", "dead-process", [key], count: 10, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2, taken.Single().Entries.Count);

        var reclaimed = new ConcurrentQueue<(StreamEntry<SampleEvent> Entry, TimeSpan After)>();
        await using var live = await _provider.SubscribeAsync<SampleEvent>(ns, "g", (e, _) =>
        {
            reclaimed.Enqueue((e, TimeProvider.System.GetElapsedTime(started)));
            return Task.CompletedTask;
        }, options, TestContext.Current.CancellationToken);

        await WaitUntilAsync(() => reclaimed.Count >= 2);
        Assert.Equal([0, 1], reclaimed.Select(r => r.Entry.Item.Sequence));
        Assert.All(reclaimed, r => Assert.Equal(2, r.Entry.DeliveryCount));
        Assert.All(reclaimed, r => Assert.True(r.After >= options.VisibilityTimeout, $"reclaimed after {r.After}"));
        await WaitUntilAsync(() => _redis.XPendingAsync(key, "g").Result.Count == 0);
    }

    [Fact]
    public async Task Reclaim_EntryAlreadyDeliveredMaxTimes_GoesToDeadLetterStream()
    {
        var ns = "exhausted" + Guid.NewGuid().ToString("N")[..8];
        var options = Fast with { VisibilityTimeout = TimeSpan.FromMilliseconds(300) };
        var id = await _provider.GetStream<SampleEvent>(StreamId.Create(ns, "a")).OnNextAsync(new SampleEvent("a", 0, "poison"), TestContext.Current.CancellationToken);

        // Consumers kept dying on this entry: it was delivered MaxDeliveryAttempts times and never acknowledged.
        var key = _provider.StreamKey(ns, "a");
        await _redis.XGroupCreateAsync(key, "g", "0", cancellationToken: TestContext.Current.CancellationToken);
        await _redis.XReadGroupAsync("g", "crashed", [key], count: 1, cancellationToken: TestContext.Current.CancellationToken);
        for (var i = 1; i < options.MaxDeliveryAttempts; i++)
        {
            await _redis.XClaimAsync(key, "g", "crashed", TimeSpan.Zero, [id], cancellationToken: TestContext.Current.CancellationToken);
        }

        var handled = 0;
        var dead = new TaskCompletionSource<DeadLetter>();
        await using var deadLetters = await _provider.SubscribeAsync<DeadLetter>(StreamNames.DeadLetterNamespace(ns), "ops", (e, _) => { dead.TrySetResult(e.Item); return Task.CompletedTask; }, Fast, TestContext.Current.CancellationToken);
        await using var live = await _provider.SubscribeAsync<SampleEvent>(ns, "g", (_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; }, options, TestContext.Current.CancellationToken);

        var letter = await dead.Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.Equal(options.MaxDeliveryAttempts, letter.DeliveryCount);
        Assert.Equal(id, letter.EntryId);
        Assert.Null(letter.LastError);
        Assert.Contains("poison", letter.Payload, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref handled));
        await WaitUntilAsync(() => _redis.XPendingAsync(key, "g").Result.Count == 0);
    }

    [Fact]
    public async Task Subscribe_NewStreamIdWhileReaderBlocks_DeliveredWithoutWaitingForTheBlockTimeout()
    {
        await using var slowPolling = new RedisStreamProvider("wake", _redis, new RedisStreamOptions { BlockTime = TimeSpan.FromSeconds(10), KeyRefreshInterval = TimeSpan.FromSeconds(30) }, TimeProvider.System, NullLoggerFactory.Instance);
        var ns = "wake" + Guid.NewGuid().ToString("N")[..8];
        var arrived = new ConcurrentDictionary<string, TaskCompletionSource>();
        await using var subscription = await slowPolling.SubscribeAsync<SampleEvent>(ns, "g", (e, _) =>
        {
            arrived.GetOrAdd(e.StreamId.Key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return Task.CompletedTask;
        }, Fast with { VisibilityTimeout = TimeSpan.FromSeconds(40) }, TestContext.Current.CancellationToken); // reclaim passes every 5 s

        await slowPolling.GetStream<SampleEvent>(StreamId.Create(ns, "first")).OnNextAsync(new SampleEvent("first", 0, "x"), TestContext.Current.CancellationToken);
        await arrived.GetOrAdd("first", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        await Task.Delay(200, TestContext.Current.CancellationToken); // the reader is now blocked on "first" for up to 5 s

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await slowPolling.GetStream<SampleEvent>(StreamId.Create(ns, "second")).OnNextAsync(new SampleEvent("second", 0, "y"), TestContext.Current.CancellationToken);
        await arrived.GetOrAdd("second", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Subscribe_ThousandStreamIdsInOneNamespace_DeliversAll()
    {
        var ns = "many" + Guid.NewGuid().ToString("N")[..8];
        var seen = new ConcurrentDictionary<string, int>();
        await using var subscription = await _provider.SubscribeAsync<SampleEvent>(ns, "g", (e, _) =>
        {
            seen.AddOrUpdate(e.StreamId.Key, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }, Fast with { MaxConcurrency = 64 }, TestContext.Current.CancellationToken);

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(k => _provider.GetStream<SampleEvent>(StreamId.Create(ns, $"chat-{k}")).OnNextAsync(new SampleEvent($"chat-{k}", 0, "x"), TestContext.Current.CancellationToken)));
        await Task.WhenAll(Enumerable.Range(0, 1000).Select(k => _provider.GetStream<SampleEvent>(StreamId.Create(ns, $"chat-{k}")).OnNextAsync(new SampleEvent($"chat-{k}", 1, "y"), TestContext.Current.CancellationToken)));

        await WaitUntilAsync(() => seen.Values.Sum() >= 2000);
        Assert.Equal(1000, seen.Count);
        Assert.All(seen.Values, n => Assert.Equal(2, n));
        await WaitUntilAsync(() => _provider.UnacknowledgedCountAsync(ns, "g").Result == 0);
    }

    [Fact]
    public async Task AddRedisStreams_InSilo_RegistersProviderAndSharedConnection()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSilo(silo => silo.AddRedisStreams("redis", server.ConnectionString, o => o.KeyPrefix = "app"));
        await using var provider = services.BuildServiceProvider();

        var streams = provider.GetRequiredKeyedService<IStreamProvider>("redis");
        var connection = provider.GetRequiredService<RedisConnection>();
        Assert.Same(connection, provider.GetRequiredKeyedService<RedisConnection>("redis"));
        var ns = "di" + Guid.NewGuid().ToString("N")[..8];
        await streams.GetStream<int>(StreamId.Create(ns, "k")).OnNextAsync(7, TestContext.Current.CancellationToken);
        Assert.Equal(1, await connection.XLenAsync($"app:{ns}:k", TestContext.Current.CancellationToken));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}
