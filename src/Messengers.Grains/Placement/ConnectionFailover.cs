using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Messengers.Grains.Placement;

/// <summary>
/// When other silos die, every running instance is asked to resume, so the connections those silos held start again on
/// the survivors as soon as membership knows, instead of waiting for their keep-connected reminders. Resuming is
/// idempotent (an instance still connected does nothing), so every survivor may do it; the instance grain's single
/// activation keeps two survivors from starting one connection twice.
/// </summary>
public sealed partial class ConnectionFailover(IGrainFactory grains, ILogger<ConnectionFailover> logger) : ISiloDeathHandler
{
    private const int ResumeConcurrency = 16;
    private const int MaxAttempts = 8; // about 45 s of tries, within the minute after which the reminders would come anyway

    public Task OnSilosDiedAsync(IReadOnlyList<SiloAddress> died, ClusterMembershipSnapshot snapshot, CancellationToken cancellationToken)
        => ResumeAllAsync(cancellationToken);

    private async Task ResumeAllAsync(CancellationToken cancellationToken)
    {
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
        for (var attempt = 1; pending.Count > 0 && attempt <= MaxAttempts && !cancellationToken.IsCancellationRequested; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(1 << attempt, 8)), cancellationToken);
            }

            var failed = new ConcurrentBag<string>();
            var last = attempt == MaxAttempts;
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = ResumeConcurrency, CancellationToken = cancellationToken }, async (id, _) =>
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Failover checked {Resumed} of {Count} instances")]
    private static partial void LogResumed(ILogger logger, int resumed, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {InstanceId} could not be resumed after a silo left: {Reason}")]
    private static partial void LogResumeFailed(ILogger logger, string instanceId, string reason);
}
