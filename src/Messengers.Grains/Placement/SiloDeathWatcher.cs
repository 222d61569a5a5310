using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Messengers.Grains.Placement;

/// <summary>
/// The silo's one watcher of membership for deaths: when other silos are declared dead while this one is active, every
/// <see cref="ISiloDeathHandler"/> is told, all at once. Silos that were dead before this one started (earlier runs)
/// are not news: start-up recovery covers them.
/// </summary>
public sealed partial class SiloDeathWatcher(
    IEnumerable<ISiloDeathHandler> handlers,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    ILogger<SiloDeathWatcher> logger) : SiloBackgroundLoop, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly ISiloDeathHandler[] _handlers = [.. handlers];

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(SiloDeathWatcher), ServiceLifecycleStage.Active, Start, _ => StopLoopAsync());
    }

    private Task Start(CancellationToken cancellationToken)
    {
        StartLoop(WatchAsync);
        return Task.CompletedTask;
    }

    private async Task WatchAsync()
    {
        HashSet<SiloAddress>? dead = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(Stopping))
            {
                var now = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress);
                if (dead is null)
                {
                    dead = [.. now];
                    continue;
                }

                var died = now.Where(dead.Add).ToList();
                if (died.Count > 0 && snapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active)
                {
                    LogSilosDied(logger, string.Join(", ", died));
                    await Task.WhenAll(_handlers.Select(handler => HandleAsync(handler, died, snapshot)));
                }
            }
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            LogWatchFailed(logger, exception);
        }
    }

    private async Task HandleAsync(ISiloDeathHandler handler, IReadOnlyList<SiloAddress> died, ClusterMembershipSnapshot snapshot)
    {
        try
        {
            await handler.OnSilosDiedAsync(died, snapshot, Stopping);
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            LogHandlerFailed(logger, exception, handler.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silos left the cluster ({Silos}): taking over their work")]
    private static partial void LogSilosDied(ILogger logger, string silos);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Handler} failed to take over after silos died")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string handler);

    [LoggerMessage(Level = LogLevel.Error, Message = "Watching membership for dead silos stopped")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception);
}
