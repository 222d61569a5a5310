using System.Net;
using Messengers.Data.Migrations;
using Messengers.Data.Postgres;
using Messengers.Data.Tests.Orleans;
using Messengers.Data.Tests.Orleans.Grains;
using Messengers.Testing;
using Npgsql;
using Orleans.Configuration;

namespace Messengers.Data.Tests.Migrations;

/// <summary>
/// Migrations 009-012 (Orleans' tables and queries) on PostgreSQL: over a schema created by Orleans' own scripts, run a
/// second time, and refusing duplicate grain states with a message that says what to do.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresOrleansMigrationTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Migrate_OrleansScriptsAppliedByHandBefore_SucceedsTakesOverQueriesAndKeepsData()
    {
        var connectionString = await server.CreateDatabaseAsync("orleans_by_hand");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await ExecuteAsync(dataSource, OrleansScriptsAppliedByHand.Schema);
        await ExecuteAsync(dataSource, """
            INSERT INTO OrleansStorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
            VALUES (1, 0, 0, 2, 'counter', 'old-key', 'old-service', '\x7b7d', now(), 3)
            """);

        await using (var database = new PostgresDatabase(connectionString))
        {
            await database.EnsureMigratedAsync(Cancel);
        }

        var queries = await QueriesAsync(dataSource);
        Assert.Equal(OrleansScriptsAppliedByHand.QueryKeys.Order(), queries.Keys.Order());
        Assert.DoesNotContain(OrleansScriptsAppliedByHand.LegacyQueryText, queries.Values);
        Assert.Contains("orleans_storage_write", queries["WriteToStorageKey"], StringComparison.Ordinal);
        Assert.Equal(["ux_orleansstorage_state"], await ScalarsAsync<string>(dataSource, "SELECT indexname FROM pg_indexes WHERE tablename = 'orleansstorage'"));
        Assert.Equal([3], await ScalarsAsync<int>(dataSource, "SELECT version FROM OrleansStorage WHERE grainidextensionstring = 'old-key'"));

        // Orleans runs on the tables the scripts made: membership, state and reminders through one silo.
        var serviceId = "svc-" + Guid.NewGuid().ToString("N")[..8];
        await using var silo = await StartSiloAsync(connectionString, serviceId);
        var counter = silo.Grains.GetGrain<ICounterGrain>("by-hand");
        Assert.Equal(2, await counter.AddAsync(2));
        await counter.DeactivateAsync();
        Assert.Equal(new CounterSnapshot(2, "1", RecordExists: true), await counter.ReadAsync());
        await silo.Grains.GetGrain<IAlarmGrain>("by-hand").StartAsync(TimeSpan.FromMinutes(5));
        Assert.Equal([1L], await ScalarsAsync<long>(dataSource, $"SELECT count(*) FROM OrleansRemindersTable WHERE ServiceId = '{serviceId}'"));
        Assert.Equal([3], await ScalarsAsync<int>(dataSource, $"SELECT Status FROM OrleansMembershipTable WHERE DeploymentId = '{serviceId}'"));
    }

    [Fact]
    public async Task Migrate_OrleansMigrationsAppliedAgain_SucceedsAndKeepsRows()
    {
        var connectionString = await server.CreateDatabaseAsync("orleans_again");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await new PostgresMigrator(dataSource).RunAsync(Cancel);
        await ExecuteAsync(dataSource, """
            INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES ('c1');
            INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
            VALUES ('c1', '127.0.0.1', 11111, 1, 's', 'h', 3, 30000, now(), now());
            INSERT INTO OrleansStorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
            VALUES (1, 0, 0, 2, 'counter', NULL, 's1', NULL, now(), 1);
            INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
            VALUES ('s1', 'alarm/x', 'r', now(), 60000, 7, 0);
            DELETE FROM schema_migrations WHERE version BETWEEN 9 AND 12;
            """);

        var applied = await new PostgresMigrator(dataSource).RunAsync(Cancel);

        Assert.Equal([9, 10, 11, 12], applied.Select(m => m.Version));
        Assert.Empty(await new PostgresMigrator(dataSource).RunAsync(Cancel));
        Assert.Equal([1L, 1L, 1L, 20L], await ScalarsAsync<long>(dataSource, """
            SELECT count(*) FROM OrleansMembershipTable
            UNION ALL SELECT count(*) FROM OrleansStorage
            UNION ALL SELECT count(*) FROM OrleansRemindersTable
            UNION ALL SELECT count(*) FROM OrleansQuery
            """));
    }

    [Fact]
    public async Task Migrate_GrainStateStoredTwiceByOrleansScripts_FailsNamingTheRemedyUntilCleanedUp()
    {
        var connectionString = await server.CreateDatabaseAsync("orleans_duplicates");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await ExecuteAsync(dataSource, OrleansScriptsAppliedByHand.Schema);
        await ExecuteAsync(dataSource, """
            INSERT INTO OrleansStorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
            VALUES (1, 0, 0, 2, 'counter', NULL, 's1', NULL, now(), 1), (1, 0, 0, 2, 'counter', NULL, 's1', NULL, now(), 2)
            """);

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => new PostgresMigrator(dataSource).RunAsync(Cancel));

        Assert.Contains("011_orleans_persistence", error.Message, StringComparison.Ordinal);
        Assert.Contains("1 grain state(s) in more than one row", error.Message, StringComparison.Ordinal);
        Assert.Equal([10], await ScalarsAsync<int>(dataSource, "SELECT max(version) FROM schema_migrations"));
        await ExecuteAsync(dataSource, "DELETE FROM OrleansStorage WHERE version = 1");
        Assert.Equal([11, 12], (await new PostgresMigrator(dataSource).RunAsync(Cancel)).Select(m => m.Version).Where(v => v <= 12)); // later migrations follow
    }

    [Fact]
    public async Task OrleansStorage_SameStateInsertedTwice_SecondRefusedByUniqueIndexAlsoWithoutStringKey()
    {
        // Integer and Guid keys have no string key (NULL), which a plain unique index would let through twice.
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("orleans_unique"));
        await new PostgresMigrator(dataSource).RunAsync(Cancel);
        const string Insert = """
            INSERT INTO OrleansStorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, modifiedon, version)
            VALUES (1, 5, 0, 2, 'counter', {0}, 's1', NULL, now(), 1)
            """;
        await ExecuteAsync(dataSource, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, "NULL"));
        await ExecuteAsync(dataSource, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, "''"));

        foreach (var key in new[] { "NULL", "''" })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(dataSource, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, key)));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
        }

        Assert.Equal([2L], await ScalarsAsync<long>(dataSource, "SELECT count(*) FROM OrleansStorage"));
    }

    private static async Task<TestSilo> StartSiloAsync(string connectionString, string serviceId)
    {
        var ports = TestSilo.FreePorts();
        return await TestSilo.StartAsync(services => services.AddPostgresData(connectionString), silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = serviceId;
                o.ServiceId = serviceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, ports.Silo, ports.Gateway, listenOnAnyHostAddress: false);
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            silo.AddAdoNetGrainStorage(GrainStorageNames.Default, o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
            });
        });
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Cancel);
    }

    private static async Task<List<T>> ScalarsAsync<T>(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var values = new List<T>();
        while (await reader.ReadAsync(Cancel))
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }

    private static async Task<Dictionary<string, string>> QueriesAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT QueryKey, QueryText FROM OrleansQuery");
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(Cancel))
        {
            queries[reader.GetString(0)] = reader.GetString(1);
        }

        return queries;
    }
}
