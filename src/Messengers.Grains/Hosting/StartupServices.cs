using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Grains.Instances;
using Messengers.Runtime;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Grains.Hosting;

/// <summary>
/// At start-up: publishes messages that were stored but not published before a crash (the outbox), then starts
/// again every instance whose desired state is Running, a few at a time so a restart is not a stampede.
/// Only messages stored before this start are replayed: newer ones are being published by this run (their outbox
/// marks are written in batches, a moment later).
/// </summary>
public sealed class StartupServices(IServiceProvider services, IGrainFactory grains, IMessageStore store, TimeProvider time, ILogger<StartupServices> logger) : BackgroundService
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
        var streams = services.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider);
        var replayed = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var batch = await store.GetUnpublishedAsync(500, cancellationToken);
            var earlier = batch.TakeWhile(m => m.CreatedAt < _startedAt).ToList();
            foreach (var message in earlier)
            {
                var ns = message.IsFromMe ? MessageStreams.Outbound : MessageStreams.Inbound;
                await streams.GetStream<ChatMessage>(StreamId.Create(ns, message.InstanceId)).OnNextAsync(message, cancellationToken);
            }

            await store.MarkPublishedAsync([.. earlier.Select(m => new MessageKey(m.InstanceId, m.MessageId))], cancellationToken);
            replayed += earlier.Count;
            if (earlier.Count == 0 || earlier.Count < batch.Count)
            {
                break; // nothing left, or the rest was stored by this run
            }
        }

        if (replayed > 0)
        {
            logger.LogInformation("Published {Count} stored messages left unpublished by the previous run", replayed);
        }
    }

    private async Task ResumeInstancesAsync(CancellationToken cancellationToken)
    {
        var ids = await grains.GetGrain<IInstanceRegistryGrain>(InstanceRegistryGrain.Key).ListAsync();
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
