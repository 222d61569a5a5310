using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;

namespace Messengers.Host.Hosting;

/// <summary>
/// At start-up, once the silo runs: publishes again the messages the previous run stored but did not finish with
/// (the outbox: incoming messages stay there until their agent turn is done), then starts again every instance whose
/// desired state is Running, a few at a time so a restart is not a stampede. Only messages stored before this start
/// are replayed: newer ones belong to this run. A replayed message reaches consumers that dedupe on its id.
/// Afterwards, every <see cref="SweepInterval"/>, what has stayed in the outbox longer than <see cref="StaleAfter"/>
/// is published again: the turns of a silo of the cluster that died without anyone restarting it.
/// </summary>
public sealed class StartupServices(
    IClusterClient cluster,
    IGrainFactory grains,
    IMessageStore store,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    TimeProvider time,
    ILogger<StartupServices> logger) : BackgroundService
{
    /// <summary>How long after a silo died the outbox is replayed: the cluster has moved the dead silo's stream queues by then.</summary>
    public static readonly TimeSpan ReplayAfterDeath = TimeSpan.FromSeconds(3);

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
            await ReplayOutboxAsync(_startedAt, stoppingToken);
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

        _ = Task.Run(() => ReplayAfterDeathsAsync(stoppingToken), CancellationToken.None); // ends with the host
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(SweepInterval, time, stoppingToken);
                await ReplayOutboxAsync(time.GetUtcNow() - StaleAfter, stoppingToken);
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

    /// <summary>
    /// When a silo of the cluster dies, the turns it was working on die with it: their messages are still in the
    /// outbox, stored and acknowledged. One survivor (the active silo with the lowest address, so the replay is not
    /// done by each) publishes the whole outbox again at once instead of waiting for <see cref="StaleAfter"/>; the
    /// consumers skip what they have answered or are answering.
    /// </summary>
    private async Task ReplayAfterDeathsAsync(CancellationToken cancellationToken)
    {
        HashSet<SiloAddress>? dead = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
            {
                var now = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress).ToList();
                if (dead is null)
                {
                    dead = [.. now]; // earlier runs' silos: the start-up replay above covers them
                    continue;
                }

                var died = now.Where(dead.Add).ToList();
                var replayer = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).OrderBy(a => a.ToParsableString(), StringComparer.Ordinal).FirstOrDefault();
                if (died.Count == 0 || !silo.SiloAddress.Equals(replayer))
                {
                    continue;
                }

                await Task.Delay(ReplayAfterDeath, time, cancellationToken);
                try
                {
                    logger.LogWarning("Silo {Silos} left the cluster: publishing the outbox again so its unfinished turns are answered", string.Join(", ", died));
                    await ReplayOutboxAsync(time.GetUtcNow(), cancellationToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    logger.LogWarning(exception, "Publishing the outbox again after a silo died failed; the sweep tries in {Interval}", SweepInterval);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Publishes again the outbox messages stored before <paramref name="storedBefore"/>.</summary>
    private async Task ReplayOutboxAsync(DateTimeOffset storedBefore, CancellationToken cancellationToken)
    {
        var streams = cluster.GetStreamProvider(MessageStreams.Provider);
        var replayed = 0;
        var position = 0L;
        while (!cancellationToken.IsCancellationRequested)
        {
            var page = await store.GetOutboxPageAsync(position, 500, cancellationToken);
            var earlier = page.TakeWhile(m => m.Message.CreatedAt < storedBefore).ToList();
            var sent = new List<MessageKey>();
            foreach (var (at, message) in earlier)
            {
                // Own messages went out on the outbound stream and are done once published; incoming ones leave the
                // outbox when the chat's agent turn is done with them.
                var ns = message.IsFromMe ? MessageStreams.Outbound : MessageStreams.Inbound;
                await streams.GetStream<ChatMessage>(StreamId.Create(ns, ChatKey.For(message.InstanceId, message.ChatId))).OnNextAsync(message);
                if (message.IsFromMe)
                {
                    sent.Add(new MessageKey(message.InstanceId, message.MessageId));
                }

                position = at;
            }

            await store.MarkPublishedAsync(sent, cancellationToken);
            replayed += earlier.Count;
            if (earlier.Count == 0 || earlier.Count < page.Count)
            {
                break; // nothing left, or the rest is newer
            }
        }

        if (replayed > 0)
        {
            logger.LogInformation("Published again {Count} stored messages nobody had finished with", replayed);
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
