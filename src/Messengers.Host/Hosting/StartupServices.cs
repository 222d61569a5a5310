using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;

namespace Messengers.Host.Hosting;

/// <summary>
/// At start-up, once the silo runs: publishes again the messages the previous run stored but did not finish with
/// (the outbox: incoming messages stay there until their agent turn is done), then starts again every instance whose
/// desired state is Running, a few at a time so a restart is not a stampede. Only messages stored before this start
/// are replayed: newer ones belong to this run. A replayed message reaches consumers that dedupe on its id.
/// Afterwards, every <see cref="SweepInterval"/>, what has stayed in the outbox longer than <see cref="StaleAfter"/>
/// is published again: turns left behind that nobody works on (<see cref="OutboxReplay"/> also replays when a silo dies).
/// </summary>
public sealed class StartupServices(
    IGrainFactory grains,
    OutboxReplay outbox,
    TimeProvider time,
    ILogger<StartupServices> logger) : BackgroundService
{
    /// <summary>How often the outbox is swept for messages left behind.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a message may wait in the outbox before a sweep publishes it again: longer than a slow agent's call and
    /// a retry's wait, so that a sweep mostly finds only what nobody works on (the chat's grain ignores the rest).
    /// </summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(10);

    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    private const int ResumeConcurrency = 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await outbox.ReplayAsync(_startedAt, stoppingToken);
            await ResumeInstancesAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception exception)
        {
            logger.LogError(exception, "Start-up recovery failed");
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(SweepInterval, time, stoppingToken);
                await outbox.ReplayAsync(time.GetUtcNow() - StaleAfter, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Sweeping the outbox failed; it is tried again in {Interval}", SweepInterval);
            }
        }
    }

    private async Task ResumeInstancesAsync(CancellationToken cancellationToken)
    {
        var ids = await grains.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).ListAsync();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = ResumeConcurrency, CancellationToken = cancellationToken }, async (id, _) =>
        {
            try
            {
                await grains.GetGrain<IInstanceGrain>(id).ResumeAsync();
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Instance {InstanceId} could not be resumed", id);
            }
        });
    }
}
