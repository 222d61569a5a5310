using Messengers.Data.Tests.Orleans.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Orleans' ADO.NET grain storage on the OrleansStorage table and queries of our migrations, through real silos (one
/// at a time, localhost clustering, the host's OrleansGrainStorageSerializer). A dialect's test class supplies the
/// database and reads rows back directly.
/// </summary>
public abstract class GrainPersistenceContract : IAsyncLifetime
{
    private readonly List<TestSilo> _silos = [];

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>A service of its own: rows of other tests on the same database never match.</summary>
    protected string ServiceId { get; } = "svc-" + Guid.NewGuid().ToString("N")[..12];

    protected static string NewKey() => "key-" + Guid.NewGuid().ToString("N")[..12];

    public abstract ValueTask InitializeAsync();

    /// <summary>The database registration of Messengers.Data (AddPostgresData/AddSqliteData); its migrations run at host start.</summary>
    protected abstract void AddDatabase(IServiceCollection services);

    /// <summary>Invariant and connection of a storage provider.</summary>
    protected abstract void ConfigureStorage(OptionsBuilder<AdoNetGrainStorageOptions> options);

    /// <summary>The row of <paramref name="stateName"/> for string key <paramref name="key"/> in this service, or null.</summary>
    protected abstract Task<StoredState?> ReadRowAsync(string stateName, string key);

    /// <summary>Rows of this service with string key <paramref name="key"/>, whatever their state name.</summary>
    protected abstract Task<long> CountRowsAsync(string key);

    protected async Task<TestSilo> StartSiloAsync()
    {
        var ports = TestSilo.FreePorts();
        var silo = await TestSilo.StartAsync(AddDatabase, silo =>
        {
            silo.UseLocalhostClustering(ports.Silo, ports.Gateway, serviceId: ServiceId, clusterId: ServiceId);

            // As in the host: grain state in Orleans' own binary format ([GenerateSerializer], [Id], [Alias]).
            silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            silo.AddAdoNetGrainStorage(GrainStorageNames.Default, ConfigureStorage);
            silo.AddAdoNetGrainStorage(GrainStorageNames.DeleteOnClear, options =>
            {
                ConfigureStorage(options);
                options.Configure(o => o.DeleteStateOnClear = true);
            });
        });
        _silos.Add(silo);
        return silo;
    }

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task WriteState_SiloRestarted_NewActivationReadsStoredState()
    {
        var key = NewKey();
        await using (var first = await StartSiloAsync())
        {
            var counter = first.Grains.GetGrain<ICounterGrain>(key);
            Assert.Equal(5, await counter.AddAsync(5));
            Assert.Equal(7, await counter.AddAsync(2));
        }

        await using var second = await StartSiloAsync();
        var read = await second.Grains.GetGrain<ICounterGrain>(key).ReadAsync();

        Assert.Equal(new CounterSnapshot(7, "2", RecordExists: true), read);
        Assert.Equal(new StoredState(2, HasPayload: true), await ReadRowAsync(CounterGrain.StateName, key));
    }

    [Fact]
    public async Task WriteState_StaleEtag_ThrowsInconsistentStateExceptionAndKeepsTheOtherWrite()
    {
        var key = NewKey();
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>(key);
        await counter.AddAsync(1);

        // Another writer (a second activation, say) stores version 2 behind the grain's back.
        var storage = silo.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorageNames.Default);
        var other = new GrainState<CounterState>(new CounterState { Value = 100 }, "1");
        await storage.WriteStateAsync(CounterGrain.StateName, counter.GetGrainId(), other);
        Assert.Equal("2", other.ETag);

        await Assert.ThrowsAsync<InconsistentStateException>(() => counter.AddAsync(1));

        Assert.Equal(new StoredState(2, HasPayload: true), await ReadRowAsync(CounterGrain.StateName, key));
        // The failed activation is gone; the next one reads the other writer's state and carries on from it.
        Assert.Equal(101, await counter.AddAsync(1));
        Assert.Equal(new StoredState(3, HasPayload: true), await ReadRowAsync(CounterGrain.StateName, key));
    }

    [Fact]
    public async Task ClearState_AfterWrite_KeepsRowWithoutPayloadAndNextActivationStartsEmpty()
    {
        var key = NewKey();
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>(key);
        await counter.AddAsync(3);

        await counter.ClearAsync();

        Assert.Equal(new StoredState(2, HasPayload: false), await ReadRowAsync(CounterGrain.StateName, key));
        await counter.DeactivateAsync();
        Assert.Equal(new CounterSnapshot(0, "2", RecordExists: false), await counter.ReadAsync());
        Assert.Equal(1, await counter.AddAsync(1));
        Assert.Equal(new StoredState(3, HasPayload: true), await ReadRowAsync(CounterGrain.StateName, key));
    }

    [Fact]
    public async Task ClearState_DeleteStateOnClear_RemovesRowAndNextWriteStartsAgainAtVersionOne()
    {
        var key = NewKey();
        await using var silo = await StartSiloAsync();
        var storage = silo.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorageNames.DeleteOnClear);
        var grainId = silo.Grains.GetGrain<ICounterGrain>(key).GetGrainId();
        var state = new GrainState<CounterState>(new CounterState { Value = 9 });
        await storage.WriteStateAsync(CounterGrain.StateName, grainId, state);
        await storage.WriteStateAsync(CounterGrain.StateName, grainId, state);
        Assert.Equal("2", state.ETag);

        await storage.ClearStateAsync(CounterGrain.StateName, grainId, state);

        Assert.Null(state.ETag);
        Assert.Null(await ReadRowAsync(CounterGrain.StateName, key));
        var again = new GrainState<CounterState>();
        await storage.ReadStateAsync(CounterGrain.StateName, grainId, again);
        Assert.False(again.RecordExists);
        await storage.WriteStateAsync(CounterGrain.StateName, grainId, again);
        Assert.Equal("1", again.ETag);
    }

    [Fact]
    public async Task WriteState_TwoWritersBothSawNothingStored_SecondIsRefusedAndOneRowKept()
    {
        var key = NewKey();
        await using var silo = await StartSiloAsync();
        var storage = silo.Services.GetRequiredKeyedService<IGrainStorage>(GrainStorageNames.Default);
        var grainId = silo.Grains.GetGrain<ICounterGrain>(key).GetGrainId();
        var first = new GrainState<CounterState>(new CounterState { Value = 1 });
        var second = new GrainState<CounterState>(new CounterState { Value = 2 });

        await storage.WriteStateAsync(CounterGrain.StateName, grainId, first);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(CounterGrain.StateName, grainId, second));

        Assert.Equal("1", first.ETag);
        Assert.Equal(1, await CountRowsAsync(key));
        var read = new GrainState<CounterState>();
        await storage.ReadStateAsync(CounterGrain.StateName, grainId, read);
        Assert.Equal(1, read.State!.Value);
    }

    [Fact]
    public async Task WriteState_TwoGrainClassesWithSameKey_EachKeepsItsOwnRow()
    {
        var key = NewKey();
        await using var silo = await StartSiloAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>(key);
        var label = silo.Grains.GetGrain<ILabelGrain>(key);

        await counter.AddAsync(4);
        await label.SetAsync("hello");
        await counter.DeactivateAsync();
        await label.DeactivateAsync();

        Assert.Equal(2, await CountRowsAsync(key));
        Assert.Equal(4, (await counter.ReadAsync()).Value);
        Assert.Equal("hello", await label.GetAsync());
        Assert.Equal(new StoredState(1, HasPayload: true), await ReadRowAsync(LabelGrain.StateName, key));
    }
}
