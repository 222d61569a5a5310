using System.Net;
using Messengers.Data.Postgres;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// The membership queries of migration 010 through Orleans' own ADO.NET table class, without a silo: the version rule
/// that keeps silos from overwriting each other's view (a write naming a stale version changes nothing), and every
/// other operation of the table.
/// </summary>
[Collection(OrleansPostgresCollection.Name)]
public sealed class PostgresMembershipTableTests(PostgresServer server) : IAsyncLifetime
{
    private readonly string _clusterId = "table-" + Guid.NewGuid().ToString("N")[..12];
    private AdoNetClusteringTable? _table;

    private IMembershipTable Table => _table!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var connectionString = await server.CreateDatabaseAsync("orleans_table");
        await using (var database = new PostgresDatabase(connectionString))
        {
            await database.EnsureMigratedAsync(Cancel);
        }

        _table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = _clusterId, ServiceId = _clusterId }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = "Npgsql", ConnectionString = connectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await Table.InitializeMembershipTableAsync(tryInitTableVersion: true, Cancel);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task InsertRow_CurrentVersion_AddsSiloAndMovesVersionOn_StaleVersionOrSameSiloChangesNothing()
    {
        var empty = await Table.ReadAllAsync(Cancel);
        Assert.Equal(0, empty.Version.Version);
        Assert.Empty(empty.Members);

        Assert.True(await Table.InsertRowAsync(Entry(1), empty.Version.Next(), Cancel));

        Assert.False(await Table.InsertRowAsync(Entry(2), empty.Version.Next(), Cancel));
        var afterOne = await Table.ReadAllAsync(Cancel);
        Assert.Equal(1, afterOne.Version.Version);
        Assert.False(await Table.InsertRowAsync(Entry(1), afterOne.Version.Next(), Cancel));
        var still = await Table.ReadAllAsync(Cancel);
        Assert.Equal(1, still.Version.Version);
        var member = Assert.Single(still.Members).Item1;
        Assert.Equal(("silo-1", "host-1", SiloStatus.Joining, 30001), (member.SiloName, member.HostName, member.Status, member.ProxyPort));
    }

    [Fact]
    public async Task UpdateRow_CurrentVersion_ChangesStatusAndSuspects_StaleVersionChangesNothing()
    {
        var entry = Entry(1);
        Assert.True(await Table.InsertRowAsync(entry, (await Table.ReadAllAsync(Cancel)).Version.Next(), Cancel));
        var read = await Table.ReadRowAsync(entry.SiloAddress, Cancel);
        var (stored, etag) = Assert.Single(read.Members);
        stored.Status = SiloStatus.Dead;
        stored.SuspectTimes = [Tuple.Create(Entry(2).SiloAddress, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc))];

        Assert.True(await Table.UpdateRowAsync(stored, etag, read.Version.Next(), Cancel));
        stored.Status = SiloStatus.Active;
        Assert.False(await Table.UpdateRowAsync(stored, etag, read.Version.Next(), Cancel));

        var after = await Table.ReadRowAsync(entry.SiloAddress, Cancel);
        Assert.Equal(2, after.Version.Version);
        var updated = Assert.Single(after.Members).Item1;
        Assert.Equal(SiloStatus.Dead, updated.Status);
        Assert.Equal(Entry(2).SiloAddress, Assert.Single(updated.SuspectTimes!).Item1);
    }

    [Fact]
    public async Task ReadRow_UnknownSilo_ReturnsVersionWithoutMembers()
    {
        Assert.True(await Table.InsertRowAsync(Entry(1), (await Table.ReadAllAsync(Cancel)).Version.Next(), Cancel));

        var read = await Table.ReadRowAsync(Entry(2).SiloAddress, Cancel);

        Assert.Equal(1, read.Version.Version);
        Assert.Empty(read.Members);
    }

    [Fact]
    public async Task UpdateIAmAlive_StoredSilo_ChangesOnlyItsAliveTimeAndNotTheVersion()
    {
        var entry = Entry(1);
        Assert.True(await Table.InsertRowAsync(entry, (await Table.ReadAllAsync(Cancel)).Version.Next(), Cancel));
        var later = entry.IAmAliveTime.AddMinutes(5);

        await Table.UpdateIAmAliveAsync(new MembershipEntry { SiloAddress = entry.SiloAddress, IAmAliveTime = later }, Cancel);

        var read = await Table.ReadRowAsync(entry.SiloAddress, Cancel);
        Assert.Equal(1, read.Version.Version);
        Assert.Equal(later, Assert.Single(read.Members).Item1.IAmAliveTime, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task CleanupDefunctSiloEntries_BeforeDate_RemovesOnlyInactiveRowsNotAliveSince()
    {
        var now = DateTime.UtcNow;
        foreach (var (generation, status, alive) in new[] { (1, SiloStatus.Dead, now.AddDays(-10)), (2, SiloStatus.Dead, now), (3, SiloStatus.Active, now.AddDays(-10)) })
        {
            var entry = Entry(generation);
            entry.Status = status;
            entry.IAmAliveTime = alive;
            Assert.True(await Table.InsertRowAsync(entry, (await Table.ReadAllAsync(Cancel)).Version.Next(), Cancel));
        }

        await Table.CleanupDefunctSiloEntriesAsync(now.AddDays(-1), Cancel);

        Assert.Equal([2, 3], (await Table.ReadAllAsync(Cancel)).Members.Select(m => m.Item1.SiloAddress.Generation).Order());
    }

    [Fact]
    public async Task DeleteMembershipTableEntries_Cluster_RemovesItsRowsAndVersion()
    {
        // Had the version row survived, it would still say 1 after the table is initialised again.
        Assert.True(await Table.InsertRowAsync(Entry(1), (await Table.ReadAllAsync(Cancel)).Version.Next(), Cancel));

        await Table.DeleteMembershipTableEntriesAsync(_clusterId, Cancel);

        await Table.InitializeMembershipTableAsync(tryInitTableVersion: true, Cancel);
        var fresh = await Table.ReadAllAsync(Cancel);
        Assert.Equal(0, fresh.Version.Version);
        Assert.Empty(fresh.Members);
    }

    private static MembershipEntry Entry(int generation)
    {
        var now = DateTime.UtcNow;
        return new MembershipEntry
        {
            SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), generation),
            SiloName = $"silo-{generation}",
            HostName = $"host-{generation}",
            Status = SiloStatus.Joining,
            ProxyPort = 30000 + generation,
            StartTime = now,
            IAmAliveTime = now,
        };
    }
}
