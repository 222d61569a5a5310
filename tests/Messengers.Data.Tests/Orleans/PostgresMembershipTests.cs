using System.Net;
using Messengers.Data.Tests.Orleans.Grains;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Messaging;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Orleans' ADO.NET clustering (Invariant "Npgsql") on the membership tables and queries of our migrations: real silos
/// on loopback ports of their own, each migrating the database at start (AddPostgresData) before joining. The
/// provider loads every membership query key at start, CleanupDefunctSiloEntriesKey included, so a silo that starts
/// at all proves the set is complete. The database's session time zone is not UTC, so a timestamp handed over
/// without its zone would be stored hours off.
/// </summary>
[Collection(OrleansPostgresCollection.Name)]
public sealed class PostgresMembershipTests(PostgresServer server) : IAsyncLifetime
{
    private const int Active = 3;
    private const int Dead = 6;

    private readonly List<TestSilo> _silos = [];
    private readonly string _clusterId = "cluster-" + Guid.NewGuid().ToString("N")[..12];
    private string _connectionString = "";
    private NpgsqlDataSource? _reader;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("orleans_membership");
        var database = new NpgsqlConnectionStringBuilder(_connectionString).Database;
        await ExecuteAsync(server.ConnectionString, $"ALTER DATABASE \"{database}\" SET timezone TO 'Asia/Kathmandu'");

        _reader = NpgsqlDataSource.Create(_connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in Enumerable.Reverse(_silos))
        {
            await silo.DisposeAsync();
        }

        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoSilos_StartOnOneDatabase_BothActiveInTableAndViewsAndClientsFindBothGateways()
    {
        var first = await StartSiloAsync();
        var second = await StartSiloAsync();

        var rows = await Eventually.UntilAsync(ReadRowsAsync, r => r.Count == 2 && r.All(m => m.Status == Active), Wait, "two active rows");
        foreach (var silo in new[] { first, second })
        {
            await Eventually.UntilAsync(
                () => Task.FromResult(ActiveMembers(silo)), count => count == 2, Wait, $"{silo.Address} to see both silos");
        }

        var now = DateTimeOffset.UtcNow;
        Assert.All(rows, r => Assert.InRange(r.StartTime, now.AddMinutes(-30), now.AddMinutes(30)));
        Assert.All(rows, r => Assert.InRange(r.IAmAliveTime, now.AddMinutes(-30), now.AddMinutes(30)));
        Assert.Equal(
            new[] { first.Address, second.Address }.Select(a => (a.Endpoint.Port, a.Generation)).Order(),
            rows.Select(r => (r.Port, r.Generation)).Order());

        // An external client finds the gateways through GatewaysQueryKey and reaches the cluster.
        var client = await StartClientAsync();
        try
        {
            var gateways = await client.Services.GetRequiredService<IGatewayListProvider>().GetGateways();
            Assert.Equal(
                new[] { first, second }.Select(s => s.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.GatewayPort).Order(),
                gateways.Select(g => g.Port).Order());
            Assert.Equal(0, await client.Services.GetRequiredService<IClusterClient>().GetGrain<IAlarmGrain>("client").TicksAsync());
        }
        finally
        {
            await client.StopAsync(CancellationToken.None);
            await ((IAsyncDisposable)client).DisposeAsync();
        }

        AssertNoMembershipErrors(first);
        AssertNoMembershipErrors(second);
    }

    [Fact]
    public async Task Silo_StoppedGracefully_MarksItselfDeadAndTheOtherStaysActive()
    {
        var first = await StartSiloAsync();
        var second = await StartSiloAsync();
        await Eventually.UntilAsync(ReadRowsAsync, r => r.Count == 2 && r.All(m => m.Status == Active), Wait, "two active rows");
        var stopped = second.Address;

        await second.StopAsync();

        var rows = await Eventually.UntilAsync(ReadRowsAsync, r => Row(r, stopped)?.Status == Dead, Wait, $"{stopped} dead");
        // Orleans 10.4 signs its own Dead row with its own address; the other silo had no part in it.
        Assert.Contains(stopped.ToParsableString(), Row(rows, stopped)!.SuspectTimes, StringComparison.Ordinal);
        Assert.DoesNotContain(first.Address.ToParsableString(), Row(rows, stopped)!.SuspectTimes, StringComparison.Ordinal);
        Assert.Equal(Active, Row(rows, first.Address)?.Status);
        AssertNoMembershipErrors(first);
    }

    [Fact]
    public async Task Silo_KilledWithoutStopping_IsDeclaredDeadByTheOther()
    {
        // Orleans 10.4 writes Stopping and Dead for itself even when its host is disposed without a stop, so the doomed
        // silo logs in as a role of its own whose access is cut first: it cannot say goodbye, and the only silo that
        // can mark it dead is the first, once its probes fail; the first silo signs the row as the suspecting silo.
        var role = "doomed_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync(server.ConnectionString, $"CREATE ROLE {role} LOGIN SUPERUSER");
        var first = await StartSiloAsync(membership: o =>
        {
            // Quicker failure detection by the first silo (its own vote is enough), still tolerant of a slow machine.
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumVotesForDeathDeclaration = 1;
            o.EnableIndirectProbes = false;
        });
        var second = await StartSiloAsync(new NpgsqlConnectionStringBuilder(_connectionString) { Username = role }.ToString());
        var killed = second.Address;

        // Without its database the dropped silo retries its goodbye for MaxJoinAttemptTime per status (default five
        // minutes, capped at one by Orleans) while still answering probes. Its membership components read the option
        // from the IOptions<ClusterMembershipOptions> instance at each call, so shortening it now (not at start, where
        // a short value would let a slow join evict the silo itself) makes it give up and go quiet within seconds.
        second.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value.MaxJoinAttemptTime = TimeSpan.FromSeconds(1);
        await ExecuteAsync(server.ConnectionString, $"ALTER ROLE {role} NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
        await second.KillAsync();

        var rows = await Eventually.UntilAsync(ReadRowsAsync, r => Row(r, killed)?.Status == Dead, TimeSpan.FromSeconds(90), $"{killed} declared dead");
        Assert.Contains(first.Address.ToParsableString(), Row(rows, killed)!.SuspectTimes, StringComparison.Ordinal);
        Assert.DoesNotContain(killed.ToParsableString(), Row(rows, killed)!.SuspectTimes, StringComparison.Ordinal);
        Assert.Equal(Active, Row(rows, first.Address)?.Status);
        await Eventually.UntilAsync(() => Task.FromResult(ActiveMembers(first)), count => count == 1, Wait, "the first silo to drop the dead one");
        AssertNoMembershipErrors(first);
    }

    [Fact]
    public async Task CleanupDefunctSiloEntries_DeadRowOlderThanExpiration_RemovedWhileRecentAndActiveRowsStay()
    {
        // Two silos that died before this one started: a month ago and a minute ago. With the defaults
        // (DefunctSiloExpiration 7 days, checked on the first membership change a silo sees) the first active silo runs
        // CleanupDefunctSiloEntriesKey, which must remove only the old one. No other query of ours deletes single rows.
        await using (var database = new Postgres.PostgresDatabase(_connectionString))
        {
            await database.EnsureMigratedAsync(Cancel);
        }

        await using (var batch = _reader!.CreateBatch())
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES ($1)") { Parameters = { new() { Value = _clusterId } } });
            foreach (var (port, died) in new[] { (1, DateTimeOffset.UtcNow.AddDays(-30)), (2, DateTimeOffset.UtcNow.AddMinutes(-1)) })
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand("""
                    INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
                    VALUES ($1, '127.0.0.1', $2, 1, 'gone', 'gone-host', 6, 0, $3, $3)
                    """) { Parameters = { new() { Value = _clusterId }, new() { Value = port }, new() { Value = died } } });
            }

            await batch.ExecuteNonQueryAsync(Cancel);
        }

        var silo = await StartSiloAsync();

        var rows = await Eventually.UntilAsync(ReadRowsAsync, r => r.All(m => m.Port != 1), Wait, "the month-old row removed");
        Assert.Equal(Dead, rows.Single(r => r.Port == 2).Status);
        Assert.Equal(Active, Row(rows, silo.Address)?.Status);
        AssertNoMembershipErrors(silo);
    }

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Cancel);
    }

    private async Task<TestSilo> StartSiloAsync(string? connectionString = null, Action<ClusterMembershipOptions>? membership = null)
    {
        connectionString ??= _connectionString;
        var ports = TestSilo.FreePorts();
        var silo = await TestSilo.StartAsync(services => services.AddPostgresData(connectionString), silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = _clusterId;
                o.ServiceId = _clusterId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, ports.Silo, ports.Gateway, listenOnAnyHostAddress: false);
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                // Silos read the table every second, so they see each other soon; failure detection keeps Orleans'
                // tolerant defaults (a loaded test machine must not get a live silo declared dead) unless a test
                // asks for more.
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                membership?.Invoke(o);
            });
        });
        _silos.Add(silo);
        return silo;
    }

    private async Task<IHost> StartClientAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = _clusterId;
                o.ServiceId = _clusterId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = _connectionString;
            });
        });
        var host = builder.Build();
        await host.StartAsync(Cancel);
        return host;
    }

    private static int ActiveMembers(TestSilo silo)
        => silo.Services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);

    private static MembershipRow? Row(IReadOnlyList<MembershipRow> rows, SiloAddress silo)
        => rows.SingleOrDefault(r => r.Port == silo.Endpoint.Port && r.Generation == silo.Generation);

    private static void AssertNoMembershipErrors(TestSilo silo)
        => Assert.True(silo.Logs.Errors("Membership").Count == 0, silo.Logs.ToString());

    private async Task<IReadOnlyList<MembershipRow>> ReadRowsAsync()
    {
        await using var command = _reader!.CreateCommand(
            "SELECT Address, Port, Generation, Status, SuspectTimes, StartTime, IAmAliveTime FROM OrleansMembershipTable WHERE DeploymentId = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = _clusterId });
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var rows = new List<MembershipRow>();
        while (await reader.ReadAsync(Cancel))
        {
            rows.Add(new MembershipRow(
                reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return rows;
    }
}
