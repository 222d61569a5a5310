using Messengers.Grains.Security;
using Messengers.Grains.Webhooks;
using Messengers.Runtime.Storage.Sqlite;
using Messengers.Runtime.Streams;
using Messengers.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Grains.Tests.Webhooks;

/// <summary>The event writer's view of subscriptions, over a real SQLite store written behind the cache's back.</summary>
public sealed class WebhookSubscriptionCacheTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-webhook-cache-");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero));
    private SqliteDatabase? _database;
    private SqliteWebhookStore? _store;
    private WebhookSubscriptionCache? _cache;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _database = new SqliteDatabase(Path.Combine(_folder.FullName, "silo.db"), _clock, fullSync: false);
        await _database.EnsureMigratedAsync(Cancel);
        _store = new SqliteWebhookStore(_database, new AesGcmSecretProtector(new byte[32]));
        _cache = new WebhookSubscriptionCache(_store, new WebhookOptions { SubscriptionCacheTime = TimeSpan.FromSeconds(5) }, _clock);
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Get_ChangedElsewhereWithinCacheTime_ReturnsKnownListUntilItAgesOut()
    {
        Assert.Empty(await _cache!.GetAsync("inst-a", Cancel));
        await _store!.CreateAsync(Subscription("inst-a"), Cancel); // as another silo would: no invalidation here

        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(await _cache.GetAsync("inst-a", Cancel));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Single(await _cache.GetAsync("inst-a", Cancel));
    }

    [Fact]
    public async Task Get_AfterInvalidate_ReadsTheStoreAtOnce()
    {
        Assert.Empty(await _cache!.GetAsync("inst-b", Cancel));
        var subscription = Subscription("inst-b");
        await _store!.CreateAsync(subscription, Cancel);
        _cache.Invalidate("inst-b");

        Assert.Equal([subscription.Id], (await _cache.GetAsync("inst-b", Cancel)).Select(s => s.Id));

        await _store.DeleteAsync("inst-b", subscription.Id, Cancel);
        _cache.Invalidate("inst-b");
        Assert.Empty(await _cache.GetAsync("inst-b", Cancel));
    }

    [Fact]
    public async Task Get_OtherInstanceInvalidated_KeepsThisInstancesEntry()
    {
        Assert.Empty(await _cache!.GetAsync("inst-c", Cancel));
        await _store!.CreateAsync(Subscription("inst-c"), Cancel);
        _cache.Invalidate("inst-d");

        Assert.Empty(await _cache.GetAsync("inst-c", Cancel));
    }

    [Fact]
    public async Task NotifyChanged_OnOneSilo_OtherSilosCacheDropsItsEntryBeforeItAgesOut()
    {
        var streams = new MemoryStreamProvider("silos", TimeProvider.System, NullLoggerFactory.Instance);
        var options = new WebhookOptions { SubscriptionCacheTime = TimeSpan.FromHours(1) };
        var siloA = new WebhookSubscriptionCache(_store!, options, _clock, streams, "silo-a");
        var siloB = new WebhookSubscriptionCache(_store!, options, _clock, streams, "silo-b");
        await siloA.StartAsync(Cancel);
        await siloB.StartAsync(Cancel);
        try
        {
            Assert.Empty(await siloB.GetAsync("inst-e", Cancel));
            var subscription = Subscription("inst-e");
            await _store!.CreateAsync(subscription, Cancel);
            await siloA.NotifyChangedAsync("inst-e", Cancel);

            // The fake clock stands still: only the broadcast can make silo B read the store again.
            var seen = await Eventually.UntilAsync(async () => await siloB.GetAsync("inst-e", Cancel), list => list.Count == 1, what: "silo B to hear of the new subscription");
            Assert.Equal(subscription.Id, seen[0].Id);
        }
        finally
        {
            await siloA.StopAsync(Cancel);
            await siloB.StopAsync(Cancel);
        }
    }

    private static WebhookSubscription Subscription(string instanceId) => new()
    {
        Id = "wh_" + Guid.NewGuid().ToString("N")[..12],
        InstanceId = instanceId,
        Url = "http://127.0.0.1:9/hook",
        Events = ["*"],
        Secret = "whsec_cache-test-secret",
        Headers = new Dictionary<string, string>(),
        Enabled = true,
        Format = WebhookFormats.Envelope,
    };
}
