using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;

namespace Messengers.Host.Hosting;

/// <summary>
/// At start-up, once the silo runs: publishes again the messages the previous run stored but did not finish with
/// (the outbox: incoming messages stay there until their agent turn is done), then starts again every instance whose
/// desired state is Running, a few at a time so a restart is not a stampede. Only messages stored before this start
/// are replayed: newer ones belong to this run. A replayed message reaches consumers that dedupe on its id.
/// </summary>
public sealed class StartupServices(IClusterClient cluster, IGrainFactory grains, IMessageStore store, TimeProvider time, ILogger<StartupServices> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    private const int ResumeConcurrency = 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReplayOutboxAsync(stoppingToken);
            await ResumeInstancesAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            logger.LogError(exception, "Start-up recovery failed");
        }
    }

    private async Task ReplayOutboxAsync(CancellationToken cancellationToken)
    {
        var streams = cluster.GetStreamProvider(MessageStreams.Provider);
        var replayed = 0;
        var position = 0L;
        while (!cancellationToken.IsCancellationRequested)
        {
            var page = await store.GetOutboxPageAsync(position, 500, cancellationToken);
            var earlier = page.TakeWhile(m => m.Message.CreatedAt < _startedAt).ToList();
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
                break; // nothing left, or the rest was stored by this run
            }
        }

        if (replayed > 0)
        {
            logger.LogInformation("Published again {Count} stored messages the previous run had not finished with", replayed);
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
