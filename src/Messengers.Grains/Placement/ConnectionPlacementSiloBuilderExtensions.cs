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
        services.TryAddSingleton<ConnectionFailover>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ConnectionFailover>());
        return silo;
    }
}
