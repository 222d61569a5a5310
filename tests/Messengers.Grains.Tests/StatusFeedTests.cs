using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Testing;

namespace Messengers.Grains.Tests;

[Collection(GrainsCollection.Name)]
public sealed class StatusFeedTests(GrainsCluster cluster)
{
    [Fact]
    public async Task StatusFeed_SubscribedObserver_ToldEveryStatusChangeOfEveryInstance()
    {
        var observer = new RecordingObserver();
        var reference = cluster.Client.CreateObjectReference<IInstanceStatusObserver>(observer);
        var feed = cluster.Client.GetGrain<IStatusFeedGrain>(IStatusFeedGrain.Key);
        await feed.SubscribeAsync(reference, null);
        try
        {
            var id = await cluster.CreateInstanceAsync();
            await cluster.Client.GetGrain<IInstanceGrain>(id).StopAsync();

            // Notifications are one-way calls, which Orleans does not keep in order: wait for both.
            await Eventually.UntilAsync(() => Task.FromResult(observer.Seen.Any(i => i.Id == id && i.Status == InstanceStatus.Stopped)), what: "stopped seen");
            await Eventually.UntilAsync(() => Task.FromResult(observer.Seen.Any(i => i.Id == id && i.Status == InstanceStatus.Starting)), what: "starting seen");
        }
        finally
        {
            await feed.UnsubscribeAsync(reference);
            cluster.Client.DeleteObjectReference<IInstanceStatusObserver>(reference);
        }
    }

    private sealed class RecordingObserver : IInstanceStatusObserver
    {
        public ConcurrentQueue<InstanceInfo> Seen { get; } = new();

        public Task OnStatusAsync(InstanceInfo info)
        {
            Seen.Enqueue(info);
            return Task.CompletedTask;
        }
    }
}
