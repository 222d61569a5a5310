using Messengers.Streaming.Redis.Tests.Support;
using Messengers.Testing;
using Orleans.Runtime;

namespace Messengers.Streaming.Redis.Tests;

/// <summary>A silo dies holding entries it read but never acknowledged; the queue's next owner delivers them.</summary>
public sealed class SiloFailureTests
{
    private const string Provider = "failover";
    private const string Prefix = "failover";
    private const int QueueCount = 8;
    private const int Streams = 32;

    [Fact]
    public async Task KilledSilo_EntriesItReadButNeverAcknowledged_DeliveredByTheQueuesNextOwner()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var inspector = await RedisInspector.ConnectAsync(redis.ConnectionString);
        await using var cluster = await StreamingCluster.StartAsync(2,
            [new(Provider, o => { o.ConnectionString = redis.ConnectionString; o.KeyPrefix = Prefix; o.QueueCount = QueueCount; })],
            membership: m =>
            {
                m.ProbeTimeout = TimeSpan.FromSeconds(2);
                m.NumMissedProbesLimit = 2;
            });
        var queueKeys = Enumerable.Range(0, QueueCount).Select(q => cluster.QueueKey(Prefix, Provider, (uint)q)).ToArray();
        var victim = cluster.Cluster.Silos[1];

        // Every consumer blocks on its stream's first event, so the second event of each stream is read but not delivered.
        cluster.Recorder.CloseGate();
        var keys = Enumerable.Range(0, Streams).Select(i => $"k-{i}").ToArray();
        foreach (var key in keys)
        {
            var stream = cluster.Stream(Provider, StreamNamespaces.Blocking, key);
            await stream.OnNextAsync(new TestEvent(0));
            await stream.OnNextAsync(new TestEvent(1));
        }

        await Eventually.UntilAsync(async () => await inspector.PendingAsync(queueKeys) == Streams * 2, 60, "every entry to be read (and none acknowledged)");

        // The queues the victim reads now (taken and not released since), with entries pending under them.
        var victimQueues = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in cluster.Logs.Provider(victim.Name).Where(l => l.EventId is 1 or 2 or 11))
        {
            var queue = (string)line.State["QueueKey"]!;
            _ = line.EventId == 11 ? victimQueues.Remove(queue) : victimQueues.Add(queue);
        }

        Assert.NotEmpty(victimQueues);
        var pendingOnVictim = await inspector.PendingAsync(victimQueues);
        Assert.True(pendingOnVictim > 0, "the victim's queues hold no pending entries");

        var linesBeforeKill = cluster.Logs.Lines.Count;
        await cluster.Cluster.KillSiloAsync(victim, TestContext.Current.CancellationToken);
        cluster.Recorder.OpenGate();

        // The survivor takes each of the victim's queues and finds there the entries the victim left pending.
        var survivor = cluster.Cluster.Silos[0].Name;
        var takenBySurvivor = await Eventually.UntilAsync(
            () => Task.FromResult(cluster.Logs.Provider(survivor, skip: linesBeforeKill).Where(l => l.EventId is 1 or 2).ToList()),
            taken => victimQueues.IsSubsetOf(taken.Select(l => (string)l.State["QueueKey"]!)),
            TimeSpan.FromSeconds(60),
            "the survivor to take the victim's queues");
        Assert.Equal(pendingOnVictim, takenBySurvivor.Where(l => l.EventId == 1 && victimQueues.Contains((string)l.State["QueueKey"]!)).Sum(l => (long)l.State["PendingCount"]!));

        var expected = keys.SelectMany(key => new[] { (StreamId.Create(StreamNamespaces.Blocking, key).ToString(), 0), (StreamId.Create(StreamNamespaces.Blocking, key).ToString(), 1) }).ToHashSet();
        await Eventually.UntilAsync(
            () => Task.FromResult(expected.IsSubsetOf(cluster.Recorder.Events.Select(e => (e.Stream, e.Number)))),
            60,
            "every entry, including those the dead silo held, to be delivered");
        await Eventually.UntilAsync(async () => await inspector.PendingAsync(queueKeys) == 0, 60, "every entry to be acknowledged");

        // A redelivered entry carries the token of its first delivery (it is derived from the entry id).
        foreach (var group in cluster.Recorder.Events.GroupBy(e => (e.Stream, e.Number)))
        {
            Assert.Single(group.Select(e => e.Token).Distinct());
        }
    }
}
