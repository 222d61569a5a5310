using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Messengers.Grains.Placement;

public static class ConnectionPlacementSiloBuilderExtensions
{
    /// <summary>
    /// Connection grains spread over the silos that host their provider, move off a silo that stops, and reconnect on
    /// the survivors when a silo dies. <paramref name="unavailableProviders"/> are the providers whose connections this
    /// silo cannot hold (published as silo metadata).
    /// </summary>
    public static ISiloBuilder AddConnectionPlacement(this ISiloBuilder silo, params IEnumerable<string> unavailableProviders)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(unavailableProviders);
        silo.UseSiloMetadata(new Dictionary<string, string> { [SiloConnections.UnavailableProvidersMetadataKey] = string.Join(',', unavailableProviders) });
        silo.AddPlacementDirector<ConnectionPlacement, ConnectionPlacementDirector>();
        var services = silo.Services;
        services.TryAddSingleton<SiloConnections>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloConnections>());
        services.AddSingleton<ISiloDeathHandler, ConnectionFailover>();
        silo.AddSiloDeathWatcher();
        return silo;
    }

    /// <summary>The watcher that tells every registered <see cref="ISiloDeathHandler"/> when other silos die (once, however often it is asked for).</summary>
    public static ISiloBuilder AddSiloDeathWatcher(this ISiloBuilder silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var services = silo.Services;
        if (services.Any(s => s.ServiceType == typeof(SiloDeathWatcher)))
        {
            return silo;
        }

        services.AddSingleton<SiloDeathWatcher>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloDeathWatcher>());
        return silo;
    }
}
