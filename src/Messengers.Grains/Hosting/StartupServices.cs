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
/// </summary>
public sealed class StartupServices(IServiceProvider services, IGrainFactory grains, IMessageStore store, ILogger<StartupServices> logger) : BackgroundService
{
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
            if (batch.Count == 0)
            {
                break;
            }

            foreach (var message in batch)
            {
                var ns = message.IsFromMe ? MessageStreams.Outbound : MessageStreams.Inbound;
                await streams.GetStream<ChatMessage>(StreamId.Create(ns, message.InstanceId)).OnNextAsync(message, cancellationToken);
                await store.MarkPublishedAsync(message.InstanceId, message.MessageId, cancellationToken);
                replayed++;
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
