using Messengers.Streaming.Redis.Tests.Support;
using Messengers.Testing;
using Orleans.Runtime;
using Orleans.Streams;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis.Tests;

/// <summary>The adapter and receiver contract, driven directly (no silo), against a real redis-server per test.</summary>
public sealed class ReceiverContractTests
{
    private static readonly StreamId Stream = StreamId.Create("contract", "s-1");

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RedisDown_ProduceAndRead_BothThrowThenReadingResumesAfterRestartWithoutData()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var harness = await AdapterHarness.StartAsync(redis.ConnectionString, "svc");
        var receiver = await harness.StartReceiverAsync();
        await harness.ProduceAsync(Stream, 1);
        var before = await receiver.GetQueueMessagesAsync(10, Cancellation);
        Assert.Single(before);
        await receiver.MessagesDeliveredAsync(before, Cancellation);

        await redis.KillAsync();

        var produceError = await Assert.ThrowsAnyAsync<Exception>(() => harness.ProduceAsync(Stream, 2));
        Assert.True(produceError is RedisException or TimeoutException, produceError.ToString());
        var readError = await Assert.ThrowsAnyAsync<Exception>(() => receiver.GetQueueMessagesAsync(10, Cancellation));
        Assert.True(readError is RedisException or TimeoutException, readError.ToString());

        // Back without its data: the group is gone (NOGROUP), the receiver re-creates it and reads what is produced now.
        await redis.RestartAsync();
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await harness.ProduceAsync(Stream, 3);
                return true;
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                return false;
            }
        }, 30, "producing to work again");
        var after = await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return await receiver.GetQueueMessagesAsync(10, Cancellation);
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException)
                {
                    return [];
                }
            },
            got => got.Count > 0,
            TimeSpan.FromSeconds(30),
            "reading to resume");
        Assert.Equal([3], after.SelectMany(b => b.GetEvents<TestEvent>()).Select(e => e.Item1.Number));
        Assert.NotEmpty(harness.Logs.Provider(eventId: 3));
    }

    [Fact]
    public async Task RedisUnreachableAtStart_ProviderStarts_ProducesAndReadsOnceRedisIsUp()
    {
        await using var redis = await RedisServer.StartAsync();
        await redis.KillAsync();

        // abortConnect=false: the provider (and so the silo) starts without Redis; calls fail until it is there.
        await using var harness = await AdapterHarness.StartAsync(redis.ConnectionString, "svc");
        var receiver = harness.Adapter.CreateReceiver(harness.Queue);
        await Assert.ThrowsAnyAsync<Exception>(() => receiver.Initialize(TimeSpan.FromSeconds(5), Cancellation));
        await Assert.ThrowsAnyAsync<Exception>(() => harness.ProduceAsync(Stream, 1));

        await redis.RestartAsync();
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await harness.ProduceAsync(Stream, 2);
                return true;
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                return false;
            }
        }, 30, "producing to work once Redis is up");

        // Initialization failed, so the first successful read creates the group (from id 0) itself.
        var read = await ReadAllAsync(receiver, expected: 1);
        Assert.Equal([2], read.SelectMany(b => b.GetEvents<TestEvent>()).Select(e => e.Item1.Number));
    }

    [Fact]
    public async Task EntriesReadButNotAcknowledged_NextOwnerOfTheQueue_ReadsThemFirstWithTheSameTokens()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var first = await AdapterHarness.StartAsync(redis.ConnectionString, "svc");
        var firstReceiver = await first.StartReceiverAsync();
        for (var n = 0; n < 3; n++)
        {
            await first.ProduceAsync(Stream, n);
        }

        var read = await firstReceiver.GetQueueMessagesAsync(10, Cancellation);
        Assert.Equal(3, read.Count);

        // The first owner dies without acknowledging; another silo takes the queue and produces one more.
        await using var second = await AdapterHarness.StartAsync(redis.ConnectionString, "svc");
        await second.ProduceAsync(Stream, 3);
        var secondReceiver = await second.StartReceiverAsync();
        Assert.Contains(second.Logs.Provider(eventId: 1), line => Equals(line.State["PendingCount"], 3L));

        var again = await ReadAllAsync(secondReceiver, expected: 4);
        Assert.Equal([0, 1, 2, 3], again.SelectMany(b => b.GetEvents<TestEvent>()).Select(e => e.Item1.Number));
        Assert.Equal(read.Select(b => b.SequenceToken), again.Take(3).Select(b => b.SequenceToken));

        await secondReceiver.MessagesDeliveredAsync(again, Cancellation);
        await using var inspector = await RedisInspector.ConnectAsync(redis.ConnectionString);
        Assert.Equal(0, await inspector.PendingAsync(RedisStreamKeys.Queue("contract", "svc", "contract", 0)));
    }

    [Fact]
    public async Task OrphanedPendingEntries_ReceiverWithNothingInFlight_RecoversThemAfterThePendingRecoveryInterval()
    {
        await using var redis = await RedisServer.StartAsync();
        static void Recovery(RedisStreamOptions options) => options.PendingRecoveryInterval = TimeSpan.FromMilliseconds(300);
        await using var owner = await AdapterHarness.StartAsync(redis.ConnectionString, "svc", Recovery);
        var receiver = await owner.StartReceiverAsync();
        Assert.Empty(await receiver.GetQueueMessagesAsync(10, Cancellation));

        // A previous owner, still reading during the hand-off, takes two entries under the same consumer name and vanishes.
        await using var previous = await AdapterHarness.StartAsync(redis.ConnectionString, "svc", Recovery);
        var previousReceiver = previous.Adapter.CreateReceiver(previous.Queue);
        await owner.ProduceAsync(Stream, 0);
        await owner.ProduceAsync(Stream, 1);
        Assert.Equal(2, (await previousReceiver.GetQueueMessagesAsync(10, Cancellation)).Count);

        var recovered = await ReadAllAsync(receiver, expected: 2);
        Assert.Equal([0, 1], recovered.SelectMany(b => b.GetEvents<TestEvent>()).Select(e => e.Item1.Number));
    }

    [Fact]
    public void SequenceToken_FromEntryIds_OrdersLikeTheEntryIdsAndRoundTrips()
    {
        Assert.True(RedisStreamSequenceToken.TryParse("1700000000000-5", 0, out var a));
        Assert.True(RedisStreamSequenceToken.TryParse("1700000000000-12", 0, out var b));
        Assert.True(RedisStreamSequenceToken.TryParse("1700000000001-0", 0, out var c));
        Assert.False(RedisStreamSequenceToken.TryParse("not-an-id", 0, out _));
        Assert.False(RedisStreamSequenceToken.TryParse("12", 0, out _));

        Assert.True(a.CompareTo(b) < 0);
        Assert.True(b.CompareTo(c) < 0);
        Assert.True(b.CompareTo(b.WithEventIndex(1)) < 0);
        Assert.True(a.SequenceNumber < b.SequenceNumber && b.SequenceNumber < c.SequenceNumber);
        Assert.Equal("1700000000000-12", b.EntryId);
        Assert.Equal(b, new RedisStreamSequenceToken(1700000000000, 12));
    }

    private static async Task<List<IBatchContainer>> ReadAllAsync(IQueueAdapterReceiver receiver, int expected)
    {
        var all = new List<IBatchContainer>();
        await Eventually.UntilAsync(async () =>
        {
            all.AddRange(await receiver.GetQueueMessagesAsync(10, Cancellation));
            return all.Count >= expected;
        }, 30, $"{expected} entries");
        return all;
    }
}
