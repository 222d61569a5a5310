using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Security;
using Messengers.Data.Security;
using Messengers.Data.Webhooks;
using Messengers.Webhooks;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Messengers.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Webhooks.Tests;

/// <summary>
/// The dispatcher against a receiver over real HTTP on loopback, on a fake clock (retries hours apart take no time).
/// Derived classes supply the store on PostgreSQL or SQLite.
/// </summary>
public abstract class WebhookDispatcherContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);
    private const string Secret = "whsec_dispatcher-test-secret-0001";

    private readonly List<IAsyncDisposable> _disposables = [];
    private WebhookDispatcher? _dispatcher;
    private WebhookEventWriter? _writer;

    protected FakeTimeProvider Clock { get; } = new(T0);

    protected ISecretProtector Protector { get; } = new AesGcmSecretProtector(new byte[32]);

    protected abstract IWebhookStore Store { get; }

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    protected WebhookOptions Options { get; } = new();

    private WebhookDispatcher Dispatcher => _dispatcher ??= new WebhookDispatcher(Store, Options, Clock, NullLogger<WebhookDispatcher>.Instance);

    private WebhookEventWriter Writer => _writer ??= new WebhookEventWriter(Store, null, NullLogger<WebhookEventWriter>.Instance, Dispatcher);

    protected abstract ValueTask OpenStoreAsync();

    protected abstract ValueTask CloseStoreAsync();

    public async ValueTask InitializeAsync() => await OpenStoreAsync();

    public async ValueTask DisposeAsync()
    {
        _dispatcher?.Dispose();
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await CloseStoreAsync();
    }

    private async Task<WebhookReceiver> ReceiverAsync()
    {
        var receiver = await WebhookReceiver.StartAsync();
        _disposables.Add(receiver);
        return receiver;
    }

    private async Task<WebhookSubscription> SubscribeAsync(string instance, WebhookReceiver receiver, IReadOnlyList<string>? events = null)
    {
        var subscription = new WebhookSubscription
        {
            Id = "wh_" + Guid.NewGuid().ToString("N")[..12],
            InstanceId = instance,
            Url = receiver.Url,
            Events = events ?? ["*"],
            Secret = Secret,
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer receiver-token" },
        };
        await Store.CreateAsync(subscription, Cancel);
        return subscription;
    }

    private async Task<List<string>> WriteMessagesAsync(string instance, int count, string prefix = "m")
    {
        var ids = new List<string>();
        for (var i = 1; i <= count; i++)
        {
            var events = WebhookEvent.FromInbound(WebhookEventTests.Inbound(instance, $"{prefix}{i}"));
            await Writer.WriteAsync(events, Cancel);
            ids.Add(events[0].Id);
        }

        return ids;
    }

    private void AssertSignedAndClean(ReceivedWebhook request)
    {
        Assert.True(WebhookSignature.Verify(Secret, request.Timestamp, request.Signature, request.Body, Clock.GetUtcNow(), TimeSpan.FromMinutes(5)), "signature");
        Assert.DoesNotContain(Secret, request.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("receiver-token", request.Text, StringComparison.Ordinal);
        Assert.Equal("Bearer receiver-token", request.Authorization);
        Assert.StartsWith("application/json", request.ContentType, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(request.Body);
        Assert.Equal(request.EventId, json.RootElement.GetProperty("id").GetString());
        Assert.Equal(request.EventType, json.RootElement.GetProperty("event").GetString());
    }

    [Fact]
    public async Task Dispatch_ReceiverDownForHoursThenUp_EveryEventDeliveredOnceInOrderSigned()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        var subscription = await SubscribeAsync(instance, receiver);
        await receiver.Server.StopAsync();
        var ids = await WriteMessagesAsync(instance, 5);

        for (var round = 0; round < 4; round++)
        {
            Assert.Equal(0, await Dispatcher.DispatchDueAsync(Cancel));
            Clock.Advance(TimeSpan.FromHours(1));
        }

        var blocked = await Store.ListDeliveriesAsync(instance, subscription.Id, null, 10, Cancel);
        Assert.Equal(4, blocked.Single(d => d.EventId == ids[0]).Attempts);
        Assert.Equal(WebhookDeliveryStatus.Failed, blocked.Single(d => d.EventId == ids[0]).Status);
        Assert.All(blocked.Where(d => d.EventId != ids[0]), d => Assert.Equal(0, d.Attempts)); // later events wait their turn

        await receiver.Server.RestartAsync();
        Clock.Advance(TimeSpan.FromHours(9));
        Assert.Equal(5, await Dispatcher.DispatchDueAsync(Cancel));
        Assert.Equal(0, await Dispatcher.DispatchDueAsync(Cancel));

        Assert.Equal(ids, receiver.Received.Select(r => r.EventId));
        Assert.All(receiver.Received, AssertSignedAndClean);
        var rows = await Store.ListDeliveriesAsync(instance, subscription.Id, null, 10, Cancel);
        Assert.All(rows, r => Assert.Equal(WebhookDeliveryStatus.Delivered, r.Status));
        Assert.Equal(5, rows.Single(d => d.EventId == ids[0]).Attempts);
    }

    [Fact]
    public async Task Dispatch_OneSubscriptionFailing_OtherSubscriptionStillDeliveredInOrder()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var good = await ReceiverAsync();
        var bad = await ReceiverAsync();
        bad.Server.Faults.FailAlways(503);
        await SubscribeAsync(instance, good);
        var failing = await SubscribeAsync(instance, bad);
        var ids = await WriteMessagesAsync(instance, 3);

        Assert.Equal(3, await Dispatcher.DispatchDueAsync(Cancel));

        Assert.Equal(ids, good.Received.Select(r => r.EventId));
        Assert.Equal(1, bad.Server.RequestCount);
        var head = (await Store.ListDeliveriesAsync(instance, failing.Id, WebhookDeliveryStatus.Failed, 10, Cancel)).Single();
        Assert.Equal(ids[0], head.EventId);
        Assert.Equal(503, head.LastStatusCode);
        Assert.InRange(head.NextAttemptAt - Clock.GetUtcNow(), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(12));
    }

    [Fact]
    public async Task Write_SameStreamEntryRedelivered_NoSecondEventOrRequest()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        await SubscribeAsync(instance, receiver);
        var message = WebhookEventTests.Inbound(instance, "m1");

        Assert.Equal(1, await Writer.WriteAsync(WebhookEvent.FromInbound(message), Cancel));
        Assert.Equal(1, await Dispatcher.DispatchDueAsync(Cancel));
        Assert.Equal(0, await Writer.WriteAsync(WebhookEvent.FromInbound(message), Cancel));
        Assert.Equal(0, await Dispatcher.DispatchDueAsync(Cancel));

        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task Write_SubscriptionEventsAndEnabled_OnlyMatchingEnabledSubscriptionsGetRows()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        var statusOnly = await SubscribeAsync(instance, receiver, [WebhookEventTypes.InstanceStatus]);
        var messages = await SubscribeAsync(instance, receiver, [WebhookEventTypes.MessageReceived]);
        var disabled = await SubscribeAsync(instance, receiver);
        await Store.UpdateAsync(instance, disabled.Id, new WebhookSubscriptionPatch { Enabled = false }, Cancel);

        await WriteMessagesAsync(instance, 2);

        Assert.Empty(await Store.ListDeliveriesAsync(instance, statusOnly.Id, null, 10, Cancel));
        Assert.Equal(2, (await Store.ListDeliveriesAsync(instance, messages.Id, null, 10, Cancel)).Count);
        Assert.Empty(await Store.ListDeliveriesAsync(instance, disabled.Id, null, 10, Cancel));
    }

    [Fact]
    public async Task Dispatch_ReceiverAlwaysFailing_DeadAfterMaxAttemptsThenNextEventGoesOn()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        receiver.Server.Faults.FailAlways(500);
        var subscription = await SubscribeAsync(instance, receiver);
        var ids = await WriteMessagesAsync(instance, 2);

        for (var round = 0; round < Options.MaxAttempts; round++)
        {
            await Dispatcher.DispatchDueAsync(Cancel);
            Clock.Advance(TimeSpan.FromHours(10));
        }

        var first = (await Store.ListDeliveriesAsync(instance, subscription.Id, null, 10, Cancel)).Single(d => d.EventId == ids[0]);
        Assert.Equal(WebhookDeliveryStatus.Dead, first.Status);
        Assert.Equal(Options.MaxAttempts, first.Attempts);
        Assert.Equal(500, first.LastStatusCode);

        receiver.Server.Faults.Clear();
        Clock.Advance(TimeSpan.FromHours(10));
        Assert.Equal(1, await Dispatcher.DispatchDueAsync(Cancel));
        Assert.Equal([ids[1]], receiver.Received.Select(r => r.EventId));
    }

    [Fact]
    public async Task Redeliver_DeliveredEvent_SentAgainWithSameEventId()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        var subscription = await SubscribeAsync(instance, receiver);
        var ids = await WriteMessagesAsync(instance, 1);
        Assert.Equal(1, await Dispatcher.DispatchDueAsync(Cancel));
        var delivery = Assert.Single(await Store.ListDeliveriesAsync(instance, subscription.Id, null, 10, Cancel));

        Clock.Advance(TimeSpan.FromMinutes(5));
        var reset = await Store.RedeliverAsync(instance, subscription.Id, delivery.Id, Clock.GetUtcNow(), Cancel);
        Assert.Equal(WebhookDeliveryStatus.Pending, reset!.Status);
        Assert.Equal(1, await Dispatcher.DispatchDueAsync(Cancel));

        Assert.Equal([ids[0], ids[0]], receiver.Received.Select(r => r.EventId));
        Assert.All(receiver.Received, AssertSignedAndClean);
        Assert.NotEqual(receiver.Received[0].Timestamp, receiver.Received[1].Timestamp);
        Assert.Equal(WebhookDeliveryStatus.Delivered, (await Store.GetDeliveryAsync(instance, subscription.Id, delivery.Id, Cancel))!.Status);
    }

    [Fact]
    public async Task Dispatch_ReceiverTooSlow_TimesOutAndRetriesLater()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        receiver.Server.Faults.ReplyDelay = TimeSpan.FromSeconds(30);
        var subscription = await SubscribeAsync(instance, receiver);
        await WriteMessagesAsync(instance, 1);

        var dispatch = Dispatcher.DispatchDueAsync(Cancel);
        for (var i = 0; i < 200 && receiver.Server.RequestCount == 0; i++)
        {
            await Task.Delay(20, Cancel);
        }

        Clock.Advance(Options.Timeout + TimeSpan.FromSeconds(1)); // the delivery's timeout runs on the fake clock
        Assert.Equal(0, await dispatch);

        var row = Assert.Single(await Store.ListDeliveriesAsync(instance, subscription.Id, null, 10, Cancel));
        Assert.Equal(WebhookDeliveryStatus.Failed, row.Status);
        Assert.Contains("No answer within 10 s", row.LastError, StringComparison.Ordinal);
        receiver.Server.Faults.Clear();
    }

    [Fact]
    public async Task HostedDispatcher_NewEventsWritten_WakeDeliversWithoutWaitingForThePoll()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N")[..8];
        var receiver = await ReceiverAsync();
        await SubscribeAsync(instance, receiver);
        await Dispatcher.StartAsync(Cancel);
        try
        {
            for (var batch = 0; batch < 3; batch++)
            {
                // The fake clock never moves: only the writer's wake-up can start these deliveries.
                var ids = await WriteMessagesAsync(instance, 2, $"b{batch}-");
                for (var i = 0; i < 250 && !ids.All(id => receiver.Received.Any(r => r.EventId == id)); i++)
                {
                    await Task.Delay(20, Cancel);
                }

                Assert.All(ids, id => Assert.Contains(receiver.Received, r => r.EventId == id));
            }
        }
        finally
        {
            await Dispatcher.StopAsync(CancellationToken.None);
        }

        Assert.Equal(6, receiver.Received.Count);
        Assert.Equal(6, receiver.Received.Select(r => r.EventId).Distinct().Count());
    }

    [Fact]
    public void RetryDelay_DefaultSchedule_GrowsToHoursWithJitterAndSpansAboutADay()
    {
        Assert.InRange(Options.RetryDelay(1, 0), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(8.01));
        Assert.InRange(Options.RetryDelay(1, 0.9999), TimeSpan.FromSeconds(11.99), TimeSpan.FromSeconds(12));
        Assert.Equal(TimeSpan.FromMinutes(2), Options.RetryDelay(3, 0.5));
        var total = Enumerable.Range(1, Options.MaxAttempts - 1).Aggregate(TimeSpan.Zero, (sum, attempt) => sum + Options.RetryDelay(attempt, 0.5));
        Assert.InRange(total, TimeSpan.FromHours(20), TimeSpan.FromHours(26));
    }
}

public sealed class SqliteWebhookDispatcherTests : WebhookDispatcherContract
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-webhooks-");
    private SqliteDatabase? _database;
    private SqliteWebhookStore? _store;

    protected override IWebhookStore Store => _store!;

    protected override async ValueTask OpenStoreAsync()
    {
        _database = new SqliteDatabase(Path.Combine(_folder.FullName, "silo.db"), Clock, fullSync: false);
        await _database.EnsureMigratedAsync(Cancel);
        _store = new SqliteWebhookStore(_database, Protector);
    }

    protected override async ValueTask CloseStoreAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _folder.Delete(recursive: true);
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresWebhookDispatcherTests(PostgresServer server) : WebhookDispatcherContract
{
    private PostgresDatabase? _database;
    private PostgresWebhookStore? _store;

    protected override IWebhookStore Store => _store!;

    protected override async ValueTask OpenStoreAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync("webhooks"), Clock);
        await _database.EnsureMigratedAsync(Cancel);
        _store = new PostgresWebhookStore(_database, Protector);
    }

    protected override async ValueTask CloseStoreAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
