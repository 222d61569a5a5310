using Messengers.Data.Postgres;
using Messengers.Data.Tests.Orleans.Grains;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Grain state on PostgreSQL through a database outage, registered as the host registers it
/// (<see cref="PostgresGrainStorageExtensions.AddPostgresGrainStorage"/>: Orleans' ADO.NET storage with its own
/// connections, wrapped in <see cref="ReconnectingGrainStorage"/>). Stops and starts its own PostgreSQL server, so it
/// shares the server with no other class.
/// </summary>
public sealed class PostgresGrainPersistenceFaultTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly string _serviceId = "svc-" + Guid.NewGuid().ToString("N")[..12];
    private TestSilo? _silo;

    public async ValueTask InitializeAsync()
    {
        var connectionString = await server.CreateDatabaseAsync("orleans_fault");
        var ports = TestSilo.FreePorts();
        _silo = await TestSilo.StartAsync(services => services.AddPostgresData(connectionString), silo =>
        {
            silo.UseLocalhostClustering(ports.Silo, ports.Gateway, serviceId: _serviceId, clusterId: _serviceId);
            silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            silo.AddPostgresGrainStorage(GrainStorageNames.Default, connectionString);
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task WriteState_ServerStoppedThenStarted_FailsMeanwhileThenSucceedsOnTheSameSilo()
    {
        var counter = _silo!.Grains.GetGrain<ICounterGrain>("fault");
        Assert.Equal(1, await counter.AddAsync(1));

        await server.StopAsync();
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => counter.AddAsync(1));
        }
        finally
        {
            await server.StartAsync();
        }

        // The same silo writes again once the server is back, and what it reports is what a new activation reads.
        var written = await Eventually.UntilAsync(() => TryAddAsync(counter, 1), value => value is not null, TimeSpan.FromSeconds(30), "a write after the restart");
        await counter.DeactivateAsync();
        var stored = await counter.ReadAsync();
        Assert.Equal(written, stored.Value);
        Assert.True(stored.Value > 1);
        Assert.True(stored.RecordExists);
    }

    [Fact]
    public async Task WriteState_AfterRestartWithIdlePooledConnections_NextWritesSucceed()
    {
        // Several writes at once leave several idle connections in the pool; the restart kills them under it.
        var counters = Enumerable.Range(0, 8).Select(i => _silo!.Grains.GetGrain<ICounterGrain>($"restart-{i}")).ToList();
        await Task.WhenAll(counters.Select(c => c.AddAsync(1)));

        await server.RestartAsync();

        var values = await Task.WhenAll(counters.Select(c => c.AddAsync(1)));
        Assert.All(values, value => Assert.Equal(2, value));
    }

    private static async Task<int?> TryAddAsync(ICounterGrain counter, int delta)
    {
        try
        {
            return await counter.AddAsync(delta);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return null; // the database is not back yet
        }
    }
}
