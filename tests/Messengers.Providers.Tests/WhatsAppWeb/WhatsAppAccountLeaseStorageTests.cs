using Messengers.Providers.WhatsAppWeb;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Storage.Sqlite;
using Messengers.Testing;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>
/// The account lease on the real databases of a cluster: silos are separate connections (separate database objects) to
/// one database, racing for the same lease.
/// </summary>
public abstract class WhatsAppAccountLeaseStorageContract : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _databases = [];

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new connection to the shared database, as a further silo would open it.</summary>
    protected abstract Task<(IGrainStorage Storage, IAsyncDisposable Database)> ConnectSiloAsync();

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<GrainStorageWhatsAppAccountLeases[]> SilosAsync(int count)
    {
        var silos = new GrainStorageWhatsAppAccountLeases[count];
        for (var i = 0; i < count; i++)
        {
            var (storage, database) = await ConnectSiloAsync();
            _databases.Add(database);
            silos[i] = new GrainStorageWhatsAppAccountLeases(storage, $"silo-{i}", TimeProvider.System);
        }

        return silos;
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
}

public sealed class SqliteWhatsAppAccountLeaseTests : WhatsAppAccountLeaseStorageContract
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-lease-");

    private string File => Path.Combine(_folder.FullName, "messengers.db");

    protected override async Task<(IGrainStorage Storage, IAsyncDisposable Database)> ConnectSiloAsync()
    {
        var database = new SqliteDatabase(File);
        await database.EnsureMigratedAsync(Ct);
        return (new SqliteGrainStorage("Default", database), database);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Delete(recursive: true);
    }
}

public sealed class PostgresWhatsAppAccountLeaseTests(PostgresServer server) : WhatsAppAccountLeaseStorageContract, IClassFixture<PostgresServer>
{
    private string _connectionString = "";

    public override async ValueTask InitializeAsync() => _connectionString = await server.CreateDatabaseAsync("lease");

    protected override async Task<(IGrainStorage Storage, IAsyncDisposable Database)> ConnectSiloAsync()
    {
        var database = new PostgresDatabase(_connectionString);
        await database.EnsureMigratedAsync(Ct);
        return (new PostgresGrainStorage("Default", database), database);
    }
}
