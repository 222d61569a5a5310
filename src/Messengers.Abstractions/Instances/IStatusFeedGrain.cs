using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace Messengers.Abstractions.Instances;

/// <summary>
/// The fan-out of status changes to every silo's live feed (one grain, key <see cref="Key"/>). Silos subscribe an
/// observer and renew it within <see cref="ObserverLifetime"/>; an observer not renewed is dropped, and one whose
/// silo membership has declared dead is dropped at once.
/// </summary>
public interface IStatusFeedGrain : IGrainWithStringKey
{
    const string Key = "all";

    /// <summary>How long a subscription lasts without being renewed.</summary>
    static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(1);

    /// <param name="observer">The observer to tell.</param>
    /// <param name="silo">The silo the observer lives on (null for a client outside the cluster).</param>
    Task SubscribeAsync(IInstanceStatusObserver observer, SiloAddress? silo);

    Task UnsubscribeAsync(IInstanceStatusObserver observer);

    [OneWay]
    Task PublishAsync(InstanceInfo info);
}
