using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Instances;

/// <summary>
/// The fan-out of status changes to every silo's live feed (one grain, key <see cref="Key"/>). Silos subscribe an
/// observer and renew it within <see cref="ObserverLifetime"/>; an observer not renewed (its silo died) is dropped.
/// </summary>
public interface IStatusFeedGrain : IGrainWithStringKey
{
    const string Key = "all";

    /// <summary>How long a subscription lasts without being renewed.</summary>
    static readonly TimeSpan ObserverLifetime = TimeSpan.FromMinutes(1);

    Task SubscribeAsync(IInstanceStatusObserver observer);

    Task UnsubscribeAsync(IInstanceStatusObserver observer);

    [OneWay]
    Task PublishAsync(InstanceInfo info);
}
