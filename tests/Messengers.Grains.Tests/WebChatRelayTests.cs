using Messengers.Abstractions.WebChat;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Providers.WebChat;
using Messengers.Testing;

namespace Messengers.Grains.Tests;

/// <summary>Web-chat events published on one silo reach the visitor's streams on every silo, each exactly once.</summary>
[Collection(TwoSiloCollection.Name)]
public sealed class WebChatRelayTests(TwoSiloCluster cluster)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    private WebChatHub HubA => cluster.SiloService<WebChatHub>(0);

    private WebChatHub HubB => cluster.SiloService<WebChatHub>(1);

    [Fact]
    public async Task Relay_StreamsOnPublisherAndOtherSilo_EachGetsEveryEventOnce()
    {
        var instance = NewInstance();
        await HubA.WatchAsync(instance, Ct); // the instance's connection runs on silo A
        try
        {
            using var tabB = await HubB.SubscribeAsync(instance, "visitor-1", Ct);
            using var tabA = await HubA.SubscribeAsync(instance, "visitor-1", Ct);
            using var otherVisitor = await HubB.SubscribeAsync(instance, "visitor-2", Ct);

            // Registration returned only once the publisher knew: no waiting here. Silo A leaves itself out.
            Assert.Equal(1, HubA.RemoteListenerCount(instance));
            HubA.Publish(instance, "visitor-1", Message("m1"), Typing(false));
            HubA.Publish(instance, "visitor-1", Message("m2"));

            Assert.Equal(["m1", "typing", "m2"], await ReadAsync(tabB, 3));
            Assert.Equal(["m1", "typing", "m2"], await ReadAsync(tabA, 3));
            await AssertNothingMoreAsync(tabA, tabB, otherVisitor);
        }
        finally
        {
            HubA.Unwatch(instance);
        }
    }

    [Fact]
    public async Task Relay_StreamOpenedBeforePublisherStarts_PublisherForwardsToIt()
    {
        var instance = NewInstance();
        using var tabB = await HubB.SubscribeAsync(instance, "visitor-1", Ct);
        await HubA.WatchAsync(instance, Ct);
        try
        {
            Assert.Equal(1, HubA.RemoteListenerCount(instance));
            HubA.Publish(instance, "visitor-1", Message("m1"));
            Assert.Equal(["m1"], await ReadAsync(tabB, 1));
        }
        finally
        {
            HubA.Unwatch(instance);
        }
    }

    [Fact]
    public async Task Relay_StreamsOnlyOnPublisherSilo_NothingForwarded()
    {
        var instance = NewInstance();
        await HubA.WatchAsync(instance, Ct);
        try
        {
            using var tabA = await HubA.SubscribeAsync(instance, "visitor-1", Ct);
            Assert.Equal(0, HubA.RemoteListenerCount(instance));
            HubA.Publish(instance, "visitor-1", Message("m1"));
            Assert.Equal(["m1"], await ReadAsync(tabA, 1));
        }
        finally
        {
            HubA.Unwatch(instance);
        }
    }

    [Fact]
    public async Task Relay_LastRemoteStreamCloses_PublisherStopsForwarding()
    {
        var instance = NewInstance();
        await HubA.WatchAsync(instance, Ct);
        try
        {
            var first = await HubB.SubscribeAsync(instance, "visitor-1", Ct);
            var second = await HubB.SubscribeAsync(instance, "visitor-2", Ct);
            first.Dispose();
            await Task.Delay(Quiet, Ct);
            Assert.Equal(1, HubA.RemoteListenerCount(instance)); // silo B still has a stream of the instance

            second.Dispose();
            await Eventually.UntilAsync(() => Task.FromResult(HubA.RemoteListenerCount(instance) == 0), what: "silo B unregistered");
        }
        finally
        {
            HubA.Unwatch(instance);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewInstance() => "relay-" + Guid.NewGuid().ToString("N")[..8];

    private static WebChatEvent Message(string id) => new("message", id, "text " + id, "out", DateTimeOffset.UtcNow);

    private static WebChatEvent Typing(bool typing) => new("typing", null, null, null, DateTimeOffset.UtcNow, Typing: typing);

    private static async Task<List<string>> ReadAsync(WebChatSubscription tab, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var seen = new List<string>();
        while (seen.Count < count)
        {
            var chatEvent = await tab.Events.ReadAsync(timeout.Token);
            seen.Add(chatEvent.MessageId ?? chatEvent.Kind);
        }

        return seen;
    }

    private static async Task AssertNothingMoreAsync(params WebChatSubscription[] tabs)
    {
        await Task.Delay(Quiet, Ct);
        foreach (var tab in tabs)
        {
            Assert.False(tab.Events.TryRead(out var extra), $"an unexpected event: {extra}");
        }
    }
}
