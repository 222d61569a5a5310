using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Grains.Placement;

namespace Messengers.Host.Hosting;

/// <summary>
/// Publishes the outbox again: messages stored and acknowledged that nobody finished with (incoming ones stay there
/// until their agent turn is done), for consumers that dedupe on the message id. Start-up and the periodic sweep use
/// it; and when silos of the cluster die, the turns they were working on die with them, so one survivor (the active
/// silo with the lowest address, so the replay is not done by each) publishes the whole outbox again at once instead
/// of waiting for the sweep.
/// </summary>
public sealed class OutboxReplay(
    IClusterClient cluster,
    IMessageStore store,
    ILocalSiloDetails silo,
    TimeProvider time,
    ILogger<OutboxReplay> logger) : ISiloDeathHandler
{
    /// <summary>How long after a silo died the outbox is replayed: the cluster has moved the dead silo's stream queues by then.</summary>
    public static readonly TimeSpan AfterDeath = TimeSpan.FromSeconds(3);

    public async Task OnSilosDiedAsync(IReadOnlyList<SiloAddress> died, ClusterMembershipSnapshot snapshot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var replayer = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).OrderBy(a => a.ToParsableString(), StringComparer.Ordinal).FirstOrDefault();
        if (!silo.SiloAddress.Equals(replayer))
        {
            return;
        }

        await Task.Delay(AfterDeath, time, cancellationToken);
        logger.LogWarning("Publishing the outbox again so the unfinished turns of silo(s) {Silos} are answered", string.Join(", ", died));
        await ReplayAsync(time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Publishes again the outbox messages stored before <paramref name="storedBefore"/>.</summary>
    public async Task ReplayAsync(DateTimeOffset storedBefore, CancellationToken cancellationToken)
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
}
