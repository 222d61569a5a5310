using Orleans.Runtime;

namespace Messengers.Grains.Placement;

/// <summary>
/// Work a surviving silo does when others of the cluster die (registered as a service; <see cref="SiloDeathWatcher"/>
/// tells each). Called on every active silo, so a handler whose work must be done once picks one of them itself.
/// </summary>
public interface ISiloDeathHandler
{
    /// <param name="died">The silos newly declared dead.</param>
    /// <param name="snapshot">Membership as it was when they were.</param>
    /// <param name="cancellationToken">Cancelled when this silo stops.</param>
    Task OnSilosDiedAsync(IReadOnlyList<SiloAddress> died, ClusterMembershipSnapshot snapshot, CancellationToken cancellationToken);
}
