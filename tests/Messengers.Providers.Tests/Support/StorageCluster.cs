using Messengers.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Messengers.Providers.Tests.Support;

/// <summary>
/// In-process silos (Orleans.TestingHost) whose grain storage <see cref="StorageNames.Grains"/> is Orleans' ADO.NET
/// storage on a real database, with the host's storage serializer (<see cref="OrleansGrainStorageSerializer"/>). Each
/// silo has its own DI container and so its own storage provider and connections, as separate processes would; they
/// share the cluster's ServiceId and therefore the stored rows.
/// </summary>
public sealed class StorageCluster : IAsyncDisposable
{
    private StorageCluster(InProcessTestCluster cluster)
    {
        Cluster = cluster;
    }

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    /// <summary>The grain storage of every silo, in the order the silos started.</summary>
    public IReadOnlyList<IGrainStorage> Storages
        => [.. Cluster.Silos.Select(silo => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains))];

    /// <summary>The grain storage of the first silo.</summary>
    public IGrainStorage Storage => Storages[0];

    /// <summary>Starts <paramref name="silos"/> silos on <paramref name="database"/>; <paramref name="services"/> adds to every silo's services.</summary>
    public static async Task<StorageCluster> StartAsync(GrainStorageDatabase database, short silos = 1, Action<IServiceCollection>? services = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            database.Register(silo.Services);
            silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            silo.AddAdoNetGrainStorage(StorageNames.Grains, storage =>
            {
                storage.Invariant = database.Invariant;
                storage.ConnectionString = database.ConnectionString;
            });
            services?.Invoke(silo.Services);
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync(TestContext.Current.CancellationToken);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return new StorageCluster(cluster);
    }

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}
