using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Messengers.Grains.Placement;

/// <summary>
/// Watches membership: when another silo is declared dead, or leaves, every running instance is asked to resume, so
/// the connections that silo held start again on the survivors as soon as membership knows, instead of waiting for
/// their keep-connected reminders. Resuming is idempotent (an instance still connected does nothing), so every
/// survivor may do it; the instance grain's single activation keeps two survivors from starting one connection twice.
/// </summary>
public sealed partial class ConnectionFailover(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    ILogger<ConnectionFailover> logger) : ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private const int ResumeConcurrency = 16;
    private const int MaxAttempts = 8; // about 45 s of tries, within the minute after which the reminders would come anyway
    private readonly CancellationTokenSource _stop = new();
    private Task _watching = Task.CompletedTask;
    private int _disposed;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(ConnectionFailover), ServiceLifecycleStage.Active, Start, Stop);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _watching;
        _stop.Dispose();
    }

    private Task Start(CancellationToken cancellationToken)
    {
        _watching = Task.Run(WatchAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken) => await _stop.CancelAsync();

    private async Task WatchAsync()
    {
        HashSet<SiloAddress>? gone = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stop.Token))
            {
                var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress);
                if (gone is null)
                {
                    gone = [.. dead]; // silos of earlier runs: this silo's start-up resumes their instances already
                    continue;
                }

                var left = dead.Where(gone.Add).ToList();
                if (left.Count > 0 && snapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active)
                {
                    await ResumeAllAsync(left);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            LogWatchFailed(logger, exception);
        }
    }

    private async Task ResumeAllAsync(List<SiloAddress> left)
    {
        LogSiloLeft(logger, string.Join(", ", left));
        IReadOnlyList<string> ids;
        try
        {
            ids = await grains.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).ListAsync();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogResumeFailed(logger, "(all)", exception.Message); // the instances' reminders still bring them back
            return;
        }

        // While the cluster settles (directory partitions and queues moving off the dead silo) a resume can fail;
        // those are tried again a few times with growing pauses before the reminders are left to it.
        var pending = ids.ToList();
        var resumed = 0;
        for (var attempt = 1; pending.Count > 0 && attempt <= MaxAttempts && !_stop.IsCancellationRequested; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(1 << attempt, 8)), _stop.Token);
            }

            var failed = new ConcurrentBag<string>();
            var last = attempt == MaxAttempts;
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = ResumeConcurrency, CancellationToken = _stop.Token }, async (id, _) =>
            {
                try
                {
                    await grains.GetGrain<IInstanceGrain>(id).ResumeAsync();
                    Interlocked.Increment(ref resumed);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    failed.Add(id);
                    if (last)
                    {
                        LogResumeFailed(logger, id, exception.Message);
                    }
                }
            });
            pending = [.. failed];
        }

        LogResumed(logger, resumed, ids.Count);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silos left the cluster ({Silos}): resuming the running instances whose connections they held")]
    private static partial void LogSiloLeft(ILogger logger, string silos);

    [LoggerMessage(Level = LogLevel.Information, Message = "Failover checked {Resumed} of {Count} instances")]
    private static partial void LogResumed(ILogger logger, int resumed, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {InstanceId} could not be resumed after a silo left: {Reason}")]
    private static partial void LogResumeFailed(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Watching membership for failover stopped")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception);
}
