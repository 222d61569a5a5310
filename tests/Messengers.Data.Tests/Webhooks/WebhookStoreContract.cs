using Messengers.Abstractions.Security;
using Messengers.Data.Security;
using Messengers.Data.Webhooks;
using Messengers.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Data.Tests.Webhooks;

/// <summary>
/// The behaviour every <see cref="IWebhookStore"/> must show (PostgreSQL, SQLite). A store's test class derives from
/// this and supplies a store on a fresh, migrated database whose clock is <see cref="Clock"/>.
/// </summary>
public abstract class WebhookStoreContract
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);

    protected abstract IWebhookStore Store { get; }

    protected FakeTimeProvider Clock { get; } = new(T0);

    protected ISecretProtector Protector { get; } = new AesGcmSecretProtector(new byte[32]);

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>The name recorded in schema_migrations for <paramref name="version"/>, or null.</summary>
    protected abstract Task<string?> AppliedMigrationAsync(int version);

    /// <summary>The secret and headers columns as stored.</summary>
    protected abstract Task<(string Secret, string? Headers)> RawSecretColumnsAsync(string subscriptionId);

    protected static string NewInstance() => "inst-" + Guid.NewGuid().ToString("N")[..12];

    protected static WebhookSubscription Subscription(string instance, string? id = null, IReadOnlyList<string>? events = null, bool enabled = true) => new()
    {
        Id = id ?? "wh_" + Guid.NewGuid().ToString("N")[..12],
        InstanceId = instance,
        Url = "http://127.0.0.1:9/hook",
        Events = events ?? ["*"],
        Secret = "whsec_test-secret-value-123",
        Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer receiver-token" },
        Enabled = enabled,
        Format = WebhookFormats.Envelope,
    };

    protected static WebhookOutboxEntry Entry(WebhookSubscription subscription, string eventId)
        => new(eventId, subscription.Id, subscription.InstanceId, WebhookEventTypes.MessageReceived, $$"""{"id":"{{eventId}}"}""");

    [Fact]
    public async Task Migrations_OnFreshDatabase_Applies003Webhooks()
        => Assert.Equal("webhooks", await AppliedMigrationAsync(3));

    [Fact]
    public async Task Create_ThenGet_RoundTripsWithSecretAndHeadersEncryptedAtRest()
    {
        var subscription = Subscription(NewInstance(), events: ["message.received", "instance.qr"]);
        await Store.CreateAsync(subscription, Cancel);

        var read = await Store.GetAsync(subscription.InstanceId, subscription.Id, Cancel);
        Assert.NotNull(read);
        Assert.Equal(subscription.Url, read.Url);
        Assert.Equal(subscription.Events, read.Events);
        Assert.Equal(subscription.Secret, read.Secret);
        Assert.Equal("Bearer receiver-token", read.Headers["Authorization"]);
        Assert.True(read.Enabled);
        Assert.Equal(T0, read.CreatedAt);

        var (secret, headers) = await RawSecretColumnsAsync(subscription.Id);
        Assert.DoesNotContain("test-secret", secret, StringComparison.Ordinal);
        Assert.DoesNotContain("receiver-token", headers ?? "", StringComparison.Ordinal);
        Assert.Equal(subscription.Secret, Protector.Unprotect(secret));
    }

    [Fact]
    public async Task Get_OtherInstance_ReturnsNull()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);

        Assert.Null(await Store.GetAsync(NewInstance(), subscription.Id, Cancel));
    }

    [Fact]
    public async Task List_SeveralSubscriptions_OldestFirstAndOnlyThatInstance()
    {
        var instance = NewInstance();
        await Store.CreateAsync(Subscription(instance, "wh_b"), Cancel);
        Clock.Advance(TimeSpan.FromSeconds(1));
        await Store.CreateAsync(Subscription(instance, "wh_a"), Cancel);
        await Store.CreateAsync(Subscription(NewInstance()), Cancel);

        var list = await Store.ListAsync(instance, Cancel);
        Assert.Equal(["wh_b", "wh_a"], list.Select(s => s.Id));
    }

    [Fact]
    public async Task Update_Patch_ChangesOnlyGivenFields()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);

        var updated = await Store.UpdateAsync(subscription.InstanceId, subscription.Id, new WebhookSubscriptionPatch { Enabled = false, Events = ["message.sent"] }, Cancel);
        var read = await Store.GetAsync(subscription.InstanceId, subscription.Id, Cancel);

        Assert.NotNull(updated);
        Assert.NotNull(read);
        Assert.False(read.Enabled);
        Assert.Equal(["message.sent"], read.Events);
        Assert.Equal(subscription.Url, read.Url);
        Assert.Equal(subscription.Secret, read.Secret);
        Assert.Null(await Store.UpdateAsync(subscription.InstanceId, "wh_missing", new WebhookSubscriptionPatch { Enabled = true }, Cancel));
    }

    [Fact]
    public async Task Delete_Subscription_RemovesItAndItsDeliveries()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1")], Cancel);

        Assert.True(await Store.DeleteAsync(subscription.InstanceId, subscription.Id, Cancel));
        Assert.False(await Store.DeleteAsync(subscription.InstanceId, subscription.Id, Cancel));
        Assert.Null(await Store.GetAsync(subscription.InstanceId, subscription.Id, Cancel));
        Assert.Empty(await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, null, 10, Cancel));
        Assert.Empty(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel));
    }

    [Fact]
    public async Task Enqueue_SameEventTwice_AddsOneRow()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);

        Assert.Equal(2, await Store.EnqueueAsync([Entry(subscription, "evt_1"), Entry(subscription, "evt_2")], Cancel));
        Assert.Equal(1, await Store.EnqueueAsync([Entry(subscription, "evt_2"), Entry(subscription, "evt_3")], Cancel));

        var rows = await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, null, 10, Cancel);
        Assert.Equal(["evt_3", "evt_2", "evt_1"], rows.Select(r => r.EventId));
        Assert.All(rows, r => Assert.Equal(WebhookDeliveryStatus.Pending, r.Status));
        Assert.All(rows, r => Assert.Equal(T0, r.NextAttemptAt));
    }

    [Fact]
    public async Task Enqueue_SubscriptionDeletedMeanwhile_SkipsItsRowsAndAddsTheOthers()
    {
        var instance = NewInstance();
        var deleted = Subscription(instance);
        var kept = Subscription(instance);
        await Store.CreateAsync(deleted, Cancel);
        await Store.CreateAsync(kept, Cancel);
        Assert.True(await Store.DeleteAsync(instance, deleted.Id, Cancel));

        Assert.Equal(1, await Store.EnqueueAsync([Entry(deleted, "evt_1"), Entry(kept, "evt_1")], Cancel));

        Assert.Equal(["evt_1"], (await Store.ListDeliveriesAsync(instance, kept.Id, null, 10, Cancel)).Select(r => r.EventId));
        Assert.Empty(await Store.ListDeliveriesAsync(instance, deleted.Id, null, 10, Cancel));
    }

    [Fact]
    public async Task GetDue_SeveralRows_ReturnsOnlyEachSubscriptionsHead()
    {
        var instance = NewInstance();
        var a = Subscription(instance);
        var b = Subscription(instance);
        await Store.CreateAsync(a, Cancel);
        await Store.CreateAsync(b, Cancel);
        await Store.EnqueueAsync([Entry(a, "evt_a1"), Entry(b, "evt_b1"), Entry(a, "evt_a2"), Entry(b, "evt_b2")], Cancel);

        var due = await Store.GetDueAsync(Clock.GetUtcNow(), 10, null, Cancel);
        var mine = due.Where(d => d.Subscription.InstanceId == instance).Select(d => d.Delivery.EventId).Order(StringComparer.Ordinal);
        Assert.Equal(["evt_a1", "evt_b1"], mine);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, a.Id, Cancel));
        Assert.Equal("evt_a1", head.Delivery.EventId);
        Assert.Equal(a.Secret, head.Subscription.Secret);
    }

    [Fact]
    public async Task GetDue_HeadFailedAndNotDue_BlocksLaterRowsOfThatSubscriptionOnly()
    {
        var instance = NewInstance();
        var a = Subscription(instance);
        var b = Subscription(instance);
        await Store.CreateAsync(a, Cancel);
        await Store.CreateAsync(b, Cancel);
        await Store.EnqueueAsync([Entry(a, "evt_a1"), Entry(a, "evt_a2"), Entry(b, "evt_b1")], Cancel);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, a.Id, Cancel));

        await Store.MarkFailedAsync(head.Delivery.Id, WebhookDeliveryStatus.Failed, 1, 500, "HTTP 500", T0.AddMinutes(1), Cancel);

        Assert.Empty(await Store.GetDueAsync(Clock.GetUtcNow(), 10, a.Id, Cancel));
        Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, b.Id, Cancel));
        Clock.Advance(TimeSpan.FromMinutes(1));
        var again = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, a.Id, Cancel));
        Assert.Equal("evt_a1", again.Delivery.EventId);
        Assert.Equal(1, again.Delivery.Attempts);
        Assert.Equal(500, again.Delivery.LastStatusCode);
        Assert.Equal("HTTP 500", again.Delivery.LastError);
    }

    [Fact]
    public async Task GetDue_DisabledSubscription_ReturnsNothingUntilEnabled()
    {
        var subscription = Subscription(NewInstance(), enabled: false);
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1")], Cancel);

        Assert.Empty(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel));
        await Store.UpdateAsync(subscription.InstanceId, subscription.Id, new WebhookSubscriptionPatch { Enabled = true }, Cancel);
        Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel));
    }

    [Fact]
    public async Task TryLease_TwiceWithSameSeenTime_OnlyFirstWinsAndRowIsNotDueDuringLease()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1")], Cancel);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery;

        Assert.True(await Store.TryLeaseAsync(head.Id, head.NextAttemptAt, T0.AddSeconds(40), Cancel));
        Assert.False(await Store.TryLeaseAsync(head.Id, head.NextAttemptAt, T0.AddSeconds(40), Cancel));
        Assert.Empty(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel));
    }

    [Fact]
    public async Task MarkDelivered_Head_NextRowBecomesHead()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1"), Entry(subscription, "evt_2")], Cancel);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery;

        await Store.MarkDeliveredAsync(head.Id, 204, T0.AddSeconds(1), Cancel);

        Assert.Equal("evt_2", Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery.EventId);
        var delivered = await Store.GetDeliveryAsync(subscription.InstanceId, subscription.Id, head.Id, Cancel);
        Assert.NotNull(delivered);
        Assert.Equal(WebhookDeliveryStatus.Delivered, delivered.Status);
        Assert.Equal(1, delivered.Attempts);
        Assert.Equal(204, delivered.LastStatusCode);
        Assert.Equal(T0.AddSeconds(1), delivered.DeliveredAt);
    }

    [Fact]
    public async Task MarkFailed_Dead_LeavesQueueAndUnblocksNextRow()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1"), Entry(subscription, "evt_2")], Cancel);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery;

        await Store.MarkFailedAsync(head.Id, WebhookDeliveryStatus.Dead, 11, null, "Connection refused", T0, Cancel);

        Assert.Equal("evt_2", Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery.EventId);
        var dead = Assert.Single(await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, WebhookDeliveryStatus.Dead, 10, Cancel));
        Assert.Equal(11, dead.Attempts);
        Assert.Null(dead.LastStatusCode);
    }

    [Fact]
    public async Task Redeliver_DeliveredRow_PendingDueNowWithAttemptsReset()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1")], Cancel);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery;
        await Store.MarkDeliveredAsync(head.Id, 200, T0, Cancel);
        Clock.Advance(TimeSpan.FromHours(1));

        var again = await Store.RedeliverAsync(subscription.InstanceId, subscription.Id, head.Id, Clock.GetUtcNow(), Cancel);

        Assert.NotNull(again);
        Assert.Equal(WebhookDeliveryStatus.Pending, again.Status);
        Assert.Equal(0, again.Attempts);
        Assert.Equal(Clock.GetUtcNow(), again.NextAttemptAt);
        Assert.Null(again.DeliveredAt);
        Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel));
        Assert.Null(await Store.RedeliverAsync(NewInstance(), subscription.Id, head.Id, Clock.GetUtcNow(), Cancel));
    }

    [Fact]
    public async Task ListDeliveries_StatusFilterAndLimit_NewestFirst()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_1"), Entry(subscription, "evt_2"), Entry(subscription, "evt_3")], Cancel);
        var head = Assert.Single(await Store.GetDueAsync(Clock.GetUtcNow(), 10, subscription.Id, Cancel)).Delivery;
        await Store.MarkDeliveredAsync(head.Id, 200, T0, Cancel);

        Assert.Equal(["evt_3", "evt_2"], (await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, WebhookDeliveryStatus.Pending, 10, Cancel)).Select(d => d.EventId));
        Assert.Equal(["evt_1"], (await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, WebhookDeliveryStatus.Delivered, 10, Cancel)).Select(d => d.EventId));
        Assert.Equal(["evt_3"], (await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, null, 1, Cancel)).Select(d => d.EventId));
        Assert.Equal("""{"id":"evt_1"}""", (await Store.GetDeliveryAsync(subscription.InstanceId, subscription.Id, head.Id, Cancel))!.Payload);
    }

    [Fact]
    public async Task Purge_OldFinishedRows_DeletesOnlyDeliveredAndDeadBeforeCutoff()
    {
        var subscription = Subscription(NewInstance());
        await Store.CreateAsync(subscription, Cancel);
        await Store.EnqueueAsync([Entry(subscription, "evt_old_delivered"), Entry(subscription, "evt_old_dead"), Entry(subscription, "evt_old_pending")], Cancel);
        var rows = await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, null, 10, Cancel);
        await Store.MarkDeliveredAsync(rows.Single(r => r.EventId == "evt_old_delivered").Id, 200, T0, Cancel);
        await Store.MarkFailedAsync(rows.Single(r => r.EventId == "evt_old_dead").Id, WebhookDeliveryStatus.Dead, 11, 500, "HTTP 500", T0, Cancel);
        Clock.Advance(TimeSpan.FromDays(8));
        await Store.EnqueueAsync([Entry(subscription, "evt_new")], Cancel);
        var fresh = await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, WebhookDeliveryStatus.Pending, 10, Cancel);

        Assert.Equal(2, await Store.PurgeAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), Cancel));

        var left = await Store.ListDeliveriesAsync(subscription.InstanceId, subscription.Id, null, 10, Cancel);
        Assert.Equal(["evt_new", "evt_old_pending"], left.Select(r => r.EventId));
        Assert.Equal(2, fresh.Count);
    }
}
