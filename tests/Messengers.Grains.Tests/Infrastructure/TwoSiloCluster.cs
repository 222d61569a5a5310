using Orleans.Hosting;
using Messengers.Providers.WebChat;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Messengers.Grains.Tests.Infrastructure;

/// <summary>
/// An in-process Orleans cluster of two silos for what must hold across silos: each silo has its own services (its own
/// <see cref="WebChatHub"/>), so a test can act on one silo and observe on the other. Only stateless grains are used.
/// </summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    /// <summary>A service of silo <paramref name="silo"/> (0 or 1).</summary>
    public T SiloService<T>(int silo) where T : notnull
        => Cluster.GetSiloServiceProvider(Cluster.Silos[silo].SiloAddress).GetRequiredService<T>();

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(Messengers.Abstractions.StorageNames.Grains);
            silo.Services.AddSingleton(TimeProvider.System);
            silo.Services.AddWebChatHub();
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TwoSiloCollection : ICollectionFixture<TwoSiloCluster>
{
    public const string Name = "two silos";
}
