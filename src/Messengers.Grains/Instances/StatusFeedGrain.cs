using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace Messengers.Grains.Instances;

/// <summary>Tells every subscribed silo each status change (see <see cref="IStatusFeedGrain"/>).</summary>
[KeepAlive]
public sealed class StatusFeedGrain(ILogger<StatusFeedGrain> logger) : Grain, IStatusFeedGrain
{
    private readonly ObserverManager<IInstanceStatusObserver> _observers = new(IStatusFeedGrain.ObserverLifetime, logger);

    public Task SubscribeAsync(IInstanceStatusObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IInstanceStatusObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public Task PublishAsync(InstanceInfo info)
    {
        _observers.Notify(observer => observer.OnStatusAsync(info));
        return Task.CompletedTask;
    }
}
