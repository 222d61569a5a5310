using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Copies an entry to the provider's dead-letter stream and only then acknowledges it in its queue
/// (two commands, not a transaction, so it also works on Redis Cluster: a crash in between dead-letters the entry twice
/// instead of losing it).
/// </summary>
internal sealed class RedisDeadLetterWriter(
    RedisStreamConnection connection,
    string deadLetterKey,
    string consumerGroup,
    long maxLength,
    TimeProvider timeProvider,
    ILogger logger)
{
    public string Key => deadLetterKey;

    /// <summary>Writes the dead letter, acknowledges the entry, logs a warning. Throws when Redis fails (nothing acknowledged then).</summary>
    public async Task MoveAsync(string queueKey, string entryId, RedisValue payload, string streamId, string reason, string subscriptionId)
    {
        var database = await connection.GetDatabaseAsync();
        var fields = new List<NameValueEntry>(7)
        {
            new(RedisStreamKeys.DeadLetterEntryField, entryId),
            new(RedisStreamKeys.DeadLetterQueueField, queueKey),
            new(RedisStreamKeys.DeadLetterStreamField, streamId),
            new(RedisStreamKeys.DeadLetterReasonField, reason),
            new(RedisStreamKeys.DeadLetterSubscriptionField, subscriptionId),
            new(RedisStreamKeys.DeadLetterTimeField, timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)),
        };
        if (!payload.IsNull)
        {
            fields.Add(new(RedisStreamKeys.PayloadField, payload));
        }

        await database.StreamAddAsync(deadLetterKey, [.. fields], messageId: null, maxLength: maxLength, useApproximateMaxLength: true, limit: null, trimMode: StreamTrimMode.KeepReferences);
        await database.StreamAcknowledgeAsync(queueKey, consumerGroup, entryId);
        logger.DeadLettered(entryId, queueKey, streamId, deadLetterKey, reason, subscriptionId);
    }
}
