using Messengers.Streaming.Redis.Tests.Support;
using Messengers.Testing;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Messengers.Streaming.Redis.Tests;

/// <summary>Delivery, ordering, acknowledgement, dead letters and trimming on one silo (see <see cref="DeliveryFixture"/>).</summary>
public sealed class DeliveryTests(DeliveryFixture fixture) : IClassFixture<DeliveryFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    private StreamingCluster Cluster => fixture.Cluster;

    private RedisInspector Redis => fixture.Inspector;

    [Fact]
    public async Task ImplicitSubscriber_EntriesOnManyStreams_ReceivesEveryEntry()
    {
        const int streams = 10;
        const int perStream = 20;
        var keys = Enumerable.Range(0, streams).Select(i => $"every-{i}").ToArray();

        await Task.WhenAll(keys.Select(async key =>
        {
            var stream = Cluster.Stream(DeliveryFixture.Main, StreamNamespaces.Recorded, key);
            for (var n = 0; n < perStream; n++)
            {
                await stream.OnNextAsync(new TestEvent(n));
            }
        }));

        var expected = keys.SelectMany(key => Enumerable.Range(0, perStream).Select(n => (Stream: StreamId.Create(StreamNamespaces.Recorded, key).ToString(), n))).ToHashSet();
        var received = await Eventually.UntilAsync(
            () => Task.FromResult(Received(DeliveryFixture.Main)),
            got => expected.IsSubsetOf(got),
            Deadline,
            "every entry to reach its implicit subscriber");
        Assert.Superset(expected, received.Where(e => e.Stream.Contains("every-", StringComparison.Ordinal)).ToHashSet());
        await Eventually.UntilAsync(async () => await Redis.PendingAsync(QueueKeys(DeliveryFixture.Main, 4)) == 0, 45, "every delivered entry to be acknowledged");
    }

    [Fact]
    public async Task ManyStreamsInterleaved_ProducedConcurrently_EachStreamArrivesInOrder()
    {
        const int streams = 20;
        const int perStream = 50;
        var keys = Enumerable.Range(0, streams).Select(i => $"order-{i}").ToArray();

        await Task.WhenAll(keys.Select(async key =>
        {
            var stream = Cluster.Stream(DeliveryFixture.Main, StreamNamespaces.Recorded, key);
            for (var n = 0; n < perStream; n++)
            {
                await stream.OnNextAsync(new TestEvent(n));
            }
        }));

        foreach (var key in keys)
        {
            var id = StreamId.Create(StreamNamespaces.Recorded, key).ToString();
            var events = await Eventually.UntilAsync(
                () => Task.FromResult(Cluster.Recorder.For(DeliveryFixture.Main, id)),
                got => got.Select(e => e.Number).Distinct().Count() == perStream,
                Deadline,
                $"all of {id}");

            // At-least-once: a redelivery may repeat an event, but first deliveries must come in production order.
            Assert.Equal(Enumerable.Range(0, perStream), events.Select(e => e.Number).Distinct());
        }
    }

    [Fact]
    public async Task BlockedConsumer_EntriesReadButNotDelivered_StayPendingUntilDeliveredThenAcknowledged()
    {
        var key = Cluster.QueueKey(DeliveryFixture.Prefix, DeliveryFixture.Acks, 0);
        var streamId = StreamId.Create(StreamNamespaces.Blocking, "acks-1").ToString();
        Cluster.Recorder.CloseGate();
        try
        {
            var stream = Cluster.Stream(DeliveryFixture.Acks, StreamNamespaces.Blocking, "acks-1");
            for (var n = 0; n < 5; n++)
            {
                await stream.OnNextAsync(new TestEvent(n));
            }

            // The consumer holds the first event; the agent has read all five into its cache.
            await Eventually.UntilAsync(() => Task.FromResult(Cluster.Recorder.For(DeliveryFixture.Acks, streamId).Count == 1), 30, "the first event to reach the blocked consumer");
            await Eventually.UntilAsync(async () => await Redis.PendingAsync(key) == 5, 30, "all five entries to be read");

            // Many poll periods later nothing has been acknowledged, because nothing has been delivered past the first.
            await Task.Delay(StreamingCluster.PollPeriod * 50, TestContext.Current.CancellationToken);
            Assert.Equal(5, await Redis.PendingAsync(key));
            Assert.Single(Cluster.Recorder.For(DeliveryFixture.Acks, streamId));
        }
        finally
        {
            Cluster.Recorder.OpenGate();
        }

        await Eventually.UntilAsync(() => Task.FromResult(Cluster.Recorder.For(DeliveryFixture.Acks, streamId).Select(e => e.Number).Distinct().Count() == 5), 30, "all five to be delivered");
        await Eventually.UntilAsync(async () => await Redis.PendingAsync(key) == 0, 30, "the delivered entries to be acknowledged");
        Assert.Equal(5, await Redis.LengthAsync(key));
    }

    [Fact]
    public async Task FailingConsumer_AfterMaxEventDeliveryTime_EntryDeadLetteredLoggedAndAcknowledged()
    {
        var key = Cluster.QueueKey(DeliveryFixture.Prefix, DeliveryFixture.Poison, 0);
        var deadKey = Cluster.DeadLetterKey(DeliveryFixture.Prefix, DeliveryFixture.Poison);
        var streamId = StreamId.Create(StreamNamespaces.Poison, "poison-1").ToString();
        var stream = Cluster.Stream(DeliveryFixture.Poison, StreamNamespaces.Poison, "poison-1");

        await stream.OnNextAsync(new TestEvent(0));
        await stream.OnNextAsync(new TestEvent(1, Poison: true));
        await stream.OnNextAsync(new TestEvent(2));

        var deadLetters = await Eventually.UntilAsync(
            async () => (await Redis.EntriesAsync(deadKey)).Where(e => e[RedisStreamKeys.DeadLetterStreamField] == streamId).ToArray(),
            found => found.Length > 0,
            Deadline,
            "the poison entry in the dead-letter stream");
        var deadLetter = Assert.Single(deadLetters);
        Assert.Contains("MaxEventDeliveryTime", deadLetter[RedisStreamKeys.DeadLetterReasonField].ToString(), StringComparison.Ordinal);
        Assert.Equal(key, deadLetter[RedisStreamKeys.DeadLetterQueueField].ToString());
        Assert.False(deadLetter[RedisStreamKeys.DeadLetterSubscriptionField].IsNullOrEmpty);

        // The dead letter carries the original payload of the poison entry.
        var entryId = deadLetter[RedisStreamKeys.DeadLetterEntryField].ToString();
        var original = Assert.Single(await Redis.Database.StreamRangeAsync(key, entryId, entryId));
        Assert.Equal((byte[])original[RedisStreamKeys.PayloadField]!, (byte[])deadLetter[RedisStreamKeys.PayloadField]!);

        // The consumer moved on: the events around the poison one are delivered, the poison one never.
        await Eventually.UntilAsync(() => Task.FromResult(Cluster.Recorder.For(DeliveryFixture.Poison, streamId).Any(e => e.Number == 2)), 30, "the event after the poison one");
        Assert.DoesNotContain(Cluster.Recorder.For(DeliveryFixture.Poison, streamId), e => e.Number == 1);
        Assert.Contains(Cluster.Logs.Provider(level: LogLevel.Warning), line => line.EventId == 4 && line.Message.Contains(entryId, StringComparison.Ordinal));
        await Eventually.UntilAsync(async () => await Redis.PendingAsync(key) == 0, 30, "the dead-lettered entry to be acknowledged");
    }

    [Fact]
    public async Task UndeserializableEntry_InQueue_MovedToDeadLetterAcknowledgedAndQueueKeepsFlowing()
    {
        var key = Cluster.QueueKey(DeliveryFixture.Prefix, DeliveryFixture.Garbage, 0);
        var deadKey = Cluster.DeadLetterKey(DeliveryFixture.Prefix, DeliveryFixture.Garbage);
        var garbage = new byte[] { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01 };
        var entryId = (await Redis.Database.StreamAddAsync(key, RedisStreamKeys.PayloadField, garbage)).ToString();

        var deadLetters = await Eventually.UntilAsync(
            async () => (await Redis.EntriesAsync(deadKey)).Where(e => e[RedisStreamKeys.DeadLetterEntryField] == entryId).ToArray(),
            found => found.Length > 0,
            Deadline,
            "the undeserializable entry in the dead-letter stream");
        var deadLetter = Assert.Single(deadLetters);
        Assert.Contains("deserialize", deadLetter[RedisStreamKeys.DeadLetterReasonField].ToString(), StringComparison.Ordinal);
        Assert.Equal(garbage, (byte[])deadLetter[RedisStreamKeys.PayloadField]!);
        await Eventually.UntilAsync(async () => await Redis.PendingAsync(key) == 0, 30, "the undeserializable entry to be acknowledged");

        // Entries after it on the same queue are still delivered.
        await Cluster.Stream(DeliveryFixture.Garbage, StreamNamespaces.Recorded, "after-garbage").OnNextAsync(new TestEvent(7));
        var afterId = StreamId.Create(StreamNamespaces.Recorded, "after-garbage").ToString();
        await Eventually.UntilAsync(() => Task.FromResult(Cluster.Recorder.For(DeliveryFixture.Garbage, afterId).Count > 0), 30, "an entry produced after the garbage");
    }

    [Fact]
    public async Task MaxStreamLength_ManyMoreEntriesProduced_QueueKeyStaysNearTheBound()
    {
        const int produced = 1_500;
        var key = Cluster.QueueKey(DeliveryFixture.Prefix, DeliveryFixture.Bounded, 0);
        var stream = Cluster.Stream(DeliveryFixture.Bounded, StreamNamespaces.Recorded, "bounded-1");
        for (var n = 0; n < produced; n++)
        {
            await stream.OnNextAsync(new TestEvent(n));
        }

        // MAXLEN ~ trims whole radix-tree nodes (100 entries each by default), so the length is the bound plus at most a node or so.
        var length = await Redis.LengthAsync(key);
        Assert.InRange(length, DeliveryFixture.BoundedLength, DeliveryFixture.BoundedLength + 150);
    }

    private HashSet<(string Stream, int Number)> Received(string provider)
        => Cluster.Recorder.Events.Where(e => e.Provider == provider).Select(e => (e.Stream, e.Number)).ToHashSet();

    private string[] QueueKeys(string provider, uint count)
        => [.. Enumerable.Range(0, (int)count).Select(q => Cluster.QueueKey(DeliveryFixture.Prefix, provider, (uint)q))];
}
