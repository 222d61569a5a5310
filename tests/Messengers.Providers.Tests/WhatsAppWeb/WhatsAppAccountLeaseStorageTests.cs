using Messengers.Providers.Tests.Support;
using Messengers.Providers.WhatsAppWeb;
using Messengers.Testing;
using Microsoft.Data.Sqlite;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>
/// The account lease on Orleans' ADO.NET grain storage over the real databases of a cluster: each silo of an
/// in-process cluster has its own storage provider (its own connections) to one database, and they race for the same lease.
/// </summary>
public abstract class WhatsAppAccountLeaseStorageContract : IAsyncLifetime
{
    private readonly List<StorageCluster> _clusters = [];

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The shared database the silos store their grain state in.</summary>
    protected abstract GrainStorageDatabase Database { get; }

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var cluster in _clusters)
        {
            await cluster.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<GrainStorageWhatsAppAccountLeases[]> SilosAsync(short count)
    {
        var cluster = await StorageCluster.StartAsync(Database, count);
        _clusters.Add(cluster);
        var storages = cluster.Storages;
        Assert.Equal(count, storages.Count);
        Assert.Equal(count, storages.Distinct().Count());
        return [.. storages.Select((storage, i) => new GrainStorageWhatsAppAccountLeases(storage, $"silo-{i}", TimeProvider.System))];
    }

    [Fact]
    public async Task TryAcquire_SilosRacingOnSeparateConnections_ExactlyOneHoldsTheLeaseEachRound()
    {
        var silos = await SilosAsync(4);
        var instanceId = "race-" + Guid.NewGuid().ToString("N")[..8];

        for (var round = 0; round < 6; round++)
        {
            var attempts = await Task.WhenAll(silos.Select(s => Task.Run(() => s.TryAcquireAsync(instanceId, TimeSpan.FromMinutes(1), Ct), Ct)));

            var winner = Assert.Single(attempts, a => a.Acquired);
            Assert.All(attempts, a => Assert.Equal(winner.HolderSilo, a.HolderSilo));
            await silos.Single(s => s.SiloName == winner.HolderSilo).ReleaseAsync(instanceId, Ct);
        }
    }

    [Fact]
    public async Task TryAcquire_HolderRenews_ExtendsItsLeaseAndOthersStayOut()
    {
        var silos = await SilosAsync(2);
        var instanceId = "renew-" + Guid.NewGuid().ToString("N")[..8];
        var first = await silos[0].TryAcquireAsync(instanceId, TimeSpan.FromSeconds(30), Ct);

        var renewed = await silos[0].TryAcquireAsync(instanceId, TimeSpan.FromMinutes(2), Ct);
        var refused = await silos[1].TryAcquireAsync(instanceId, TimeSpan.FromSeconds(30), Ct);

        Assert.True(first.Acquired && renewed.Acquired);
        Assert.True(renewed.ExpiresAt > first.ExpiresAt);
        Assert.False(refused.Acquired);
        Assert.Equal(("silo-0", renewed.ExpiresAt), (refused.HolderSilo, refused.ExpiresAt));
    }

    [Fact]
    public async Task TryAcquire_ReleasedByItsHolder_TakenByAnotherSiloAtOnce()
    {
        var silos = await SilosAsync(2);
        var instanceId = "release-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True((await silos[0].TryAcquireAsync(instanceId, TimeSpan.FromMinutes(5), Ct)).Acquired);

        await silos[1].ReleaseAsync(instanceId, Ct); // not silo-1's to release
        Assert.False((await silos[1].TryAcquireAsync(instanceId, TimeSpan.FromMinutes(5), Ct)).Acquired);
        await silos[0].ReleaseAsync(instanceId, Ct);
        var taken = await silos[1].TryAcquireAsync(instanceId, TimeSpan.FromMinutes(5), Ct);
        var refused = await silos[0].TryAcquireAsync(instanceId, TimeSpan.FromMinutes(5), Ct);

        Assert.Equal((true, "silo-1"), (taken.Acquired, taken.HolderSilo));
        Assert.Equal((false, "silo-1"), (refused.Acquired, refused.HolderSilo));
    }
}

public sealed class SqliteWhatsAppAccountLeaseTests : WhatsAppAccountLeaseStorageContract
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-lease-");

    protected override GrainStorageDatabase Database => GrainStorageDatabase.Sqlite(Path.Combine(_folder.FullName, "messengers.db"));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }
}

public sealed class PostgresWhatsAppAccountLeaseTests(PostgresServer server) : WhatsAppAccountLeaseStorageContract, IClassFixture<PostgresServer>
{
    private string _connectionString = "";

    protected override GrainStorageDatabase Database => GrainStorageDatabase.Postgres(_connectionString);

    public override async ValueTask InitializeAsync() => _connectionString = await server.CreateDatabaseAsync("lease");
}
