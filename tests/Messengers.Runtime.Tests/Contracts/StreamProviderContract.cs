using System.Collections.Concurrent;
using Messengers.Runtime.Streams;

namespace Messengers.Runtime.Tests.Contracts;

public sealed record SampleEvent(string Key, int Sequence, string Text);

/// <summary>
/// The behaviour every stream provider must show (memory, Redis). A provider's test class derives from this and
/// supplies the provider; each test uses its own namespace, so one provider can serve all tests.
/// </summary>
public abstract class StreamProviderContract
{
    /// <summary>Short timings so that redelivery tests finish quickly.</summary>
    protected static readonly StreamSubscriptionOptions Fast = new()
    {
        VisibilityTimeout = TimeSpan.FromMilliseconds(600),
        RetryDelay = TimeSpan.FromMilliseconds(50),
        MaxDeliveryAttempts = 3,
        MaxConcurrency = 8,
    };

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    protected abstract IStreamProvider Provider { get; }

    private static string NewNamespace() => "t" + Guid.NewGuid().ToString("N")[..12];

    private async Task PublishAsync(string ns, string key, int count, int from = 0)
    {
        var stream = Provider.GetStream<SampleEvent>(StreamId.Create(ns, key));
        for (var i = from; i < from + count; i++)
        {
            await stream.OnNextAsync(new SampleEvent(key, i, $"{key}-{i}"), TestContext.Current.CancellationToken);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Subscribe_ThenPublish_DeliversEveryEntryOnceWithItsStreamId()
    {
        var ns = NewNamespace();
        var seen = new ConcurrentBag<StreamEntry<SampleEvent>>();
        await using var subscription = await Provider.SubscribeAsync<SampleEvent>(ns, "g", (e, _) => { seen.Add(e); return Task.CompletedTask; }, Fast, TestContext.Current.CancellationToken);

        await PublishAsync(ns, "a", 50);
        await PublishAsync(ns, "b", 50);

        await WaitUntilAsync(() => seen.Count >= 100, "100 entries arrived");
        await Task.Delay(Fast.VisibilityTimeout * 2, TestContext.Current.CancellationToken); // acknowledged entries must not come back
        Assert.Equal(100, seen.Count);
        Assert.Equal(100, seen.Select(e => (e.StreamId, e.Item.Sequence)).Distinct().Count());
        Assert.All(seen, e => Assert.Equal(e.Item.Key, e.StreamId.Key));
        Assert.All(seen, e => Assert.Equal(ns, e.StreamId.Namespace));
        Assert.All(seen, e => Assert.Equal(1, e.DeliveryCount));
    }

    [Fact]
    public async Task Subscribe_AfterEntriesWerePublished_NewGroupReceivesRetainedEntries()
    {
        var ns = NewNamespace();
        await PublishAsync(ns, "a", 10);
        var seen = new ConcurrentBag<int>();
        await using var subscription = await Provider.SubscribeAsync<SampleEvent>(ns, "late", (e, _) => { seen.Add(e.Item.Sequence); return Task.CompletedTask; }, Fast, TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => seen.Count >= 10, "the retained entries arrived");
        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
    }

    [Fact]
    public async Task Subscribe_TwoMembersOfOneGroup_ShareEntriesAndHandleEachOnce()
    {
        var ns = NewNamespace();
        var byMember = new ConcurrentDictionary<string, ConcurrentBag<int>>();
        StreamHandler<SampleEvent> Handler(string member) => async (e, ct) =>
        {
            byMember.GetOrAdd(member, _ => []).Add(e.Item.Sequence);
            await Task.Delay(2, ct);
        };

        await using var first = await Provider.SubscribeAsync(ns, "g", Handler("first"), Fast with { ConsumerName = "first" }, TestContext.Current.CancellationToken);
        await using var second = await Provider.SubscribeAsync(ns, "g", Handler("second"), Fast with { ConsumerName = "second" }, TestContext.Current.CancellationToken);

        for (var k = 0; k < 20; k++)
        {
            await PublishAsync(ns, $"k{k}", 10, from: k * 10);
        }

        await WaitUntilAsync(() => byMember.Values.Sum(b => b.Count) >= 200, "200 entries were handled");
        await Task.Delay(Fast.VisibilityTimeout * 2, TestContext.Current.CancellationToken);
        var all = byMember.Values.SelectMany(b => b).ToList();
        Assert.Equal(200, all.Count);
        Assert.Equal(200, all.Distinct().Count());
    }

    [Fact]
    public async Task Subscribe_TwoGroups_EachGroupSeesEveryEntry()
    {
        var ns = NewNamespace();
        var first = new ConcurrentBag<int>();
        var second = new ConcurrentBag<int>();
        await using var a = await Provider.SubscribeAsync<SampleEvent>(ns, "webhooks", (e, _) => { first.Add(e.Item.Sequence); return Task.CompletedTask; }, Fast, TestContext.Current.CancellationToken);
        await using var b = await Provider.SubscribeAsync<SampleEvent>(ns, "agents", (e, _) => { second.Add(e.Item.Sequence); return Task.CompletedTask; }, Fast, TestContext.Current.CancellationToken);

        await PublishAsync(ns, "a", 30);

        await WaitUntilAsync(() => first.Count >= 30 && second.Count >= 30, "both groups got 30 entries");
        Assert.Equal(Enumerable.Range(0, 30), first.Order());
        Assert.Equal(Enumerable.Range(0, 30), second.Order());
    }

    [Fact]
    public async Task Handler_Throws_EntryDeliveredAgainWithHigherDeliveryCount()
    {
        var ns = NewNamespace();
        var deliveries = new ConcurrentBag<int>();
        var handled = 0;
        await using var subscription = await Provider.SubscribeAsync<SampleEvent>(ns, "g", (e, _) =>
        {
            deliveries.Add(e.DeliveryCount);
            if (e.DeliveryCount < 2)
            {
                throw new InvalidOperationException("first attempt fails");
            }

            Interlocked.Increment(ref handled);
            return Task.CompletedTask;
        }, Fast, TestContext.Current.CancellationToken);

        await PublishAsync(ns, "a", 1);

        await WaitUntilAsync(() => Volatile.Read(ref handled) == 1, "the second delivery succeeded");
        await Task.Delay(Fast.VisibilityTimeout * 2, TestContext.Current.CancellationToken);
        Assert.Equal([1, 2], deliveries.Order());
    }

    [Fact]
    public async Task Entry_NotAcknowledged_DeliveredAgainAfterVisibilityTimeout()
    {
        var ns = NewNamespace();
        var deliveries = new ConcurrentQueue<(string Member, int Count)>();
        var manual = Fast with { AutoAcknowledge = false, ConsumerName = "forgetful" };
        var forgetful = await Provider.SubscribeAsync<SampleEvent>(ns, "g", (e, _) => { deliveries.Enqueue(("forgetful", e.DeliveryCount)); return Task.CompletedTask; }, manual, TestContext.Current.CancellationToken);
        await PublishAsync(ns, "a", 1);
        await WaitUntilAsync(() => !deliveries.IsEmpty, "the first delivery");

        IStreamSubscription? acknowledging = null;
        acknowledging = await Provider.SubscribeAsync<SampleEvent>(ns, "g", async (e, ct) =>
        {
            deliveries.Enqueue(("careful", e.DeliveryCount));
            await acknowledging!.AcknowledgeAsync(e.StreamId, e.EntryId, ct);
        }, Fast with { AutoAcknowledge = false, ConsumerName = "careful" }, TestContext.Current.CancellationToken);
        await forgetful.DisposeAsync();

        await WaitUntilAsync(() => deliveries.Any(d => d.Member == "careful"), "a redelivery to the other member");
        await Task.Delay(Fast.VisibilityTimeout * 2, TestContext.Current.CancellationToken);
        await acknowledging.DisposeAsync();
        Assert.Equal(("forgetful", 1), deliveries.First());
        Assert.Single(deliveries, d => d.Member == "careful");
        Assert.True(deliveries.Single(d => d.Member == "careful").Count >= 2);
    }

    [Fact]
    public async Task Entries_OfOneStream_HandledInOrderOneAtATime()
    {
        var ns = NewNamespace();
        var order = new ConcurrentDictionary<string, ConcurrentQueue<int>>();
        var running = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        await using var subscription = await Provider.SubscribeAsync<SampleEvent>(ns, "g", async (e, ct) =>
        {
            if (running.AddOrUpdate(e.StreamId.Key, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            await Task.Delay(1, ct);
            order.GetOrAdd(e.StreamId.Key, _ => new()).Enqueue(e.Item.Sequence);
            running.AddOrUpdate(e.StreamId.Key, 0, (_, n) => n - 1);
        }, Fast, TestContext.Current.CancellationToken);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(k => PublishAsync(ns, $"k{k}", 25)));

        await WaitUntilAsync(() => order.Values.Sum(q => q.Count) >= 100, "100 entries were handled");
        Assert.Equal(0, overlaps);
        Assert.All(order.Values, q => Assert.Equal(Enumerable.Range(0, 25), q));
    }

    [Fact]
    public async Task Handler_AlwaysThrows_EntryMovesToDeadLetterStreamAfterMaxAttempts()
    {
        var ns = NewNamespace();
        var attempts = 0;
        var dead = new ConcurrentBag<DeadLetter>();
        await using var deadLetters = await Provider.SubscribeAsync<DeadLetter>(StreamNames.DeadLetterNamespace(ns), "ops", (e, _) => { dead.Add(e.Item); return Task.CompletedTask; }, Fast, TestContext.Current.CancellationToken);
        await using var subscription = await Provider.SubscribeAsync<SampleEvent>(ns, "g", (_, _) =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("agent is down");
        }, Fast, TestContext.Current.CancellationToken);

        await PublishAsync(ns, "a", 1);

        await WaitUntilAsync(() => !dead.IsEmpty, "the entry was dead-lettered");
        await Task.Delay(Fast.VisibilityTimeout * 2, TestContext.Current.CancellationToken);
        Assert.Equal(Fast.MaxDeliveryAttempts, Volatile.Read(ref attempts));
        var letter = Assert.Single(dead);
        Assert.Equal(ns, letter.StreamNamespace);
        Assert.Equal("a", letter.StreamKey);
        Assert.Equal("g", letter.ConsumerGroup);
        Assert.Contains("agent is down", letter.LastError, StringComparison.Ordinal);
        Assert.Contains("a-0", letter.Payload, StringComparison.Ordinal);
    }
}
