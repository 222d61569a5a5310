using Messengers.Runtime.Hosting;
using Messengers.Runtime.Storage;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messengers.Runtime.Tests.Storage;

public interface IDurableCounterGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    Task<int> GetAsync();
}

public sealed class DurableCounterState
{
    public int Count { get; set; }
}

public sealed class DurableCounterGrain([PersistentState("counter")] IPersistentState<DurableCounterState> counter) : Grain, IDurableCounterGrain
{
    public async Task<int> IncrementAsync()
    {
        counter.State.Count++;
        await counter.WriteStateAsync();
        return counter.State.Count;
    }

    public Task<int> GetAsync() => Task.FromResult(counter.State.Count);
}

/// <summary>A grain's persistent state outlives the silo on both database storages.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DurableGrainStateTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static async Task<int> RunSiloAsync(Action<ISiloBuilder> storage, Func<IGrainFactory, Task<int>> work)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSilo(silo =>
        {
            silo.AddGrain<DurableCounterGrain>();
            storage(silo);
        });
        using var host = builder.Build();
        await host.StartAsync(Cancel);
        try
        {
            return await work(host.Services.GetRequiredService<IGrainFactory>());
        }
        finally
        {
            await host.StopAsync(Cancel);
        }
    }

    private static async Task<int> IncrementThriceAsync(IGrainFactory grains)
    {
        var counter = grains.GetGrain<IDurableCounterGrain>("c1");
        await counter.IncrementAsync();
        await counter.IncrementAsync();
        return await counter.IncrementAsync();
    }

    [Fact]
    public async Task PersistentState_OnSqlite_SurvivesSiloRestart()
    {
        var folder = Directory.CreateTempSubdirectory("messengers-grain-");
        try
        {
            var path = Path.Combine(folder.FullName, "silo.db");
            Assert.Equal(3, await RunSiloAsync(s => s.AddSqliteGrainStorage(StorageNames.Default, path), IncrementThriceAsync));
            Assert.Equal(4, await RunSiloAsync(s => s.AddSqliteGrainStorage(StorageNames.Default, path), g => g.GetGrain<IDurableCounterGrain>("c1").IncrementAsync()));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task PersistentState_OnPostgres_SurvivesSiloRestart()
    {
        var connectionString = await server.CreateDatabaseAsync("grain");
        Assert.Equal(3, await RunSiloAsync(s => s.AddPostgresGrainStorage(StorageNames.Default, connectionString), IncrementThriceAsync));
        Assert.Equal(4, await RunSiloAsync(s => s.AddPostgresGrainStorage(StorageNames.Default, connectionString), g => g.GetGrain<IDurableCounterGrain>("c1").IncrementAsync()));
    }
}
