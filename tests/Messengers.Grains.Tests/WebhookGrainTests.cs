using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Data.Webhooks;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Webhooks;

namespace Messengers.Grains.Tests;

[Collection(GrainsCollection.Name)]
public sealed class WebhookGrainTests(GrainsCluster cluster)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Streams_InstanceWithSubscription_MessagesAndStatusBecomeOutboxRowsOnce()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        var subscription = await SubscribeAsync(id);
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1"));
        await Eventually.UntilAsync(cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");

        await chat.ReceiveAsync(new Abstractions.Providers.InboundMessage { MessageId = "m1", ChatId = "c1", Body = "hi" });
        await chat.ReceiveAsync(new Abstractions.Providers.InboundMessage { MessageId = "m1", ChatId = "c1", Body = "hi" }); // a redelivery
        await chat.SendAsync(new Abstractions.Providers.OutgoingMessage { ChatId = "c1", Text = "hello back" });
        await cluster.Client.GetGrain<IInstanceGrain>(id).StopAsync();

        var store = cluster.SiloService<IWebhookStore>();
        var rows = await Eventually.UntilAsync(
            () => store.ListDeliveriesAsync(id, subscription.Id, null, 50, Cancel),
            r => r.Any(d => d.EventType == WebhookEventTypes.InstanceStatus) && r.Any(d => d.EventType == WebhookEventTypes.MessageSent),
            what: "outbox rows");
        await Task.Delay(300, Cancel);
        rows = await store.ListDeliveriesAsync(id, subscription.Id, null, 50, Cancel);

        Assert.Single(rows, r => r.EventType == WebhookEventTypes.MessageReceived);
        Assert.Single(rows, r => r.EventType == WebhookEventTypes.MessageSent);
        Assert.Contains(rows, r => r.EventType == WebhookEventTypes.InstanceStatus && r.Payload.Contains("Stopped", StringComparison.Ordinal));
        Assert.Equal(rows.Count, rows.Select(r => r.EventId).Distinct().Count());
    }

    [Fact]
    public async Task Subscriptions_CreatedAfterMessagesAndTold_OnlyLaterMessagesWritten()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1"));
        await chat.ReceiveAsync(new Abstractions.Providers.InboundMessage { MessageId = "before", ChatId = "c1", Body = "early" });
        await cluster.Client.GetGrain<IWebhookSubscriptionsGrain>(id).GetAsync(); // the empty list is now known

        var subscription = await SubscribeAsync(id);
        await chat.ReceiveAsync(new Abstractions.Providers.InboundMessage { MessageId = "after", ChatId = "c1", Body = "late" });

        var store = cluster.SiloService<IWebhookStore>();
        var rows = await Eventually.UntilAsync(() => store.ListDeliveriesAsync(id, subscription.Id, null, 50, Cancel), r => r.Count > 0, what: "a row");
        await Task.Delay(300, Cancel);
        rows = await store.ListDeliveriesAsync(id, subscription.Id, null, 50, Cancel);
        var row = Assert.Single(rows, r => r.EventType == WebhookEventTypes.MessageReceived);
        Assert.Contains("\"after\"", row.Payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscriptions_DisabledAndToldWhileTheWriterIsActive_LaterMessagesNotWrittenForIt()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        var kept = await SubscribeAsync(id);
        var disabled = await SubscribeAsync(id);
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1"));
        var store = cluster.SiloService<IWebhookStore>();
        await chat.ReceiveAsync(new Abstractions.Providers.InboundMessage { MessageId = "m1", ChatId = "c1", Body = "both" });
        await Eventually.UntilAsync(() => store.ListDeliveriesAsync(id, disabled.Id, null, 50, Cancel), r => r.Any(d => d.EventType == WebhookEventTypes.MessageReceived), what: "m1 for both");

        await store.UpdateAsync(id, disabled.Id, new WebhookSubscriptionPatch { Enabled = false }, Cancel);
        await cluster.Client.GetGrain<IWebhookSubscriptionsGrain>(id).ChangedAsync();
        await chat.ReceiveAsync(new Abstractions.Providers.InboundMessage { MessageId = "m2", ChatId = "c1", Body = "one" });

        // Both rows of an event are written together: once the kept subscription has m2, the other one never will.
        await Eventually.UntilAsync(() => store.ListDeliveriesAsync(id, kept.Id, null, 50, Cancel), r => r.Count(d => d.EventType == WebhookEventTypes.MessageReceived) == 2, what: "m2 for the kept one");
        var rows = await store.ListDeliveriesAsync(id, disabled.Id, null, 50, Cancel);
        Assert.Single(rows, r => r.EventType == WebhookEventTypes.MessageReceived);
    }

    /// <summary>Creates a subscription in the store and tells the instance's subscriptions grain, as the API does.</summary>
    private async Task<WebhookSubscription> SubscribeAsync(string id)
    {
        var subscription = new WebhookSubscription
        {
            Id = "wh_" + Guid.NewGuid().ToString("N")[..12],
            InstanceId = id,
            Url = "http://127.0.0.1:9/hook",
            Secret = "whsec_grain-tests",
        };
        await cluster.SiloService<IWebhookStore>().CreateAsync(subscription, Cancel);
        await cluster.Client.GetGrain<IWebhookSubscriptionsGrain>(id).ChangedAsync();
        return subscription;
    }
}
