using System.Collections.Concurrent;
using System.Threading.Channels;
using Messengers.Abstractions.Instances;

namespace Messengers.Host.Api;

/// <summary>
/// The live feed of this silo: an observer subscribed to the <see cref="IStatusFeedGrain"/> (renewed well within its
/// lifetime), fanned out to the dashboards and event streams connected here. Each silo sees every status change,
/// whichever silo hosts the instance.
/// </summary>
public sealed partial class LiveFeed(IGrainFactory grains, ILocalSiloDetails silo, TimeProvider time, ILogger<LiveFeed> logger) : BackgroundService, IInstanceStatusObserver
{
    private readonly ConcurrentDictionary<Guid, Channel<InstanceInfo>> _listeners = new();
    private IInstanceStatusObserver? _reference;

    public Task OnStatusAsync(InstanceInfo info)
    {
        foreach (var listener in _listeners.Values)
        {
            listener.Writer.TryWrite(info);
        }

        return Task.CompletedTask;
    }

    public (ChannelReader<InstanceInfo> Events, IDisposable Registration) Listen()
    {
        var channel = Channel.CreateBounded<InstanceInfo>(new BoundedChannelOptions(512) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        _listeners[id] = channel;
        return (channel.Reader, new Unregister(() => _listeners.TryRemove(id, out _)));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _reference = grains.CreateObjectReference<IInstanceStatusObserver>(this);
        var feed = grains.GetGrain<IStatusFeedGrain>(IStatusFeedGrain.Key);
        var renewal = IStatusFeedGrain.ObserverLifetime / 3;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await feed.SubscribeAsync(_reference, silo.SiloAddress);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogSubscribeFailed(logger, exception.Message);
            }

            try
            {
                await Task.Delay(renewal, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Stop may be called twice (a host stopped by its lifetime and by its owner at once, as WebApplicationFactory
        // does): only the first call unsubscribes and deletes the reference.
        if (Interlocked.Exchange(ref _reference, null) is { } reference)
        {
            try
            {
                await grains.GetGrain<IStatusFeedGrain>(IStatusFeedGrain.Key).UnsubscribeAsync(reference);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // the silo is going away; the subscription expires by itself
                LogSubscribeFailed(logger, exception.Message);
            }

            grains.DeleteObjectReference<IInstanceStatusObserver>(reference);
        }

        foreach (var listener in _listeners.Values)
        {
            listener.Writer.TryComplete();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The live feed could not (re)subscribe to status changes; it tries again shortly: {Reason}")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    private sealed class Unregister(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
