using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Utilities;

namespace Messengers.Grains.Instances;

/// <summary>
/// Tells every subscribed silo each status change (see <see cref="IStatusFeedGrain"/>). The notifications are
/// one-way, so a dead silo's observer would never fail: it is dropped as soon as membership declares its silo dead,
/// instead of being sent to (and Orleans warning about each discarded message) until its subscription expires.
/// </summary>
[KeepAlive]
public sealed class StatusFeedGrain(IClusterMembershipService membership, ILogger<StatusFeedGrain> logger) : Grain, IStatusFeedGrain
{
    private readonly ObserverManager<IInstanceStatusObserver> _observers = new(IStatusFeedGrain.ObserverLifetime, logger);
    private readonly Dictionary<IInstanceStatusObserver, SiloAddress> _silos = [];

    public Task SubscribeAsync(IInstanceStatusObserver observer, SiloAddress? silo)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers.Subscribe(observer, observer);
        if (silo is not null)
        {
            _silos[observer] = silo;
        }

        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IInstanceStatusObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers.Unsubscribe(observer);
        _silos.Remove(observer);
        return Task.CompletedTask;
    }

    public Task PublishAsync(InstanceInfo info)
    {
        var snapshot = membership.CurrentSnapshot;
        foreach (var (observer, _) in _silos.Where(o => snapshot.GetSiloStatus(o.Value) == SiloStatus.Dead).ToList())
        {
            _observers.Unsubscribe(observer);
            _silos.Remove(observer);
        }

        _observers.Notify(observer => observer.OnStatusAsync(info));
        return Task.CompletedTask;
    }
}
