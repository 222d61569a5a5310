using Microsoft.Extensions.Logging;

namespace Messengers.Streaming.Redis;

/// <summary>Source-generated log messages of the provider (category <c>Messengers.Streaming.Redis.{provider}</c>).</summary>
internal static partial class RedisStreamLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Redis stream queue {QueueKey} taken (consumer {Consumer}); {PendingCount} entries left pending by a previous owner will be delivered again.")]
    public static partial void QueueTakenWithPending(this ILogger logger, string queueKey, string consumer, long pendingCount);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Redis stream queue {QueueKey} taken (consumer {Consumer}); nothing pending.")]
    public static partial void QueueTaken(this ILogger logger, string queueKey, string consumer);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "Consumer group {Group} is missing on {QueueKey} (Redis restarted without persistence, or the key was deleted); re-creating it from the first retained entry.")]
    public static partial void GroupRecreated(this ILogger logger, string group, string queueKey);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "Stream entry {EntryId} of {QueueKey} (stream {StreamId}) moved to dead-letter stream {DeadLetterKey}: {Reason} (subscription {SubscriptionId}).")]
    public static partial void DeadLettered(this ILogger logger, string entryId, string queueKey, string streamId, string deadLetterKey, string reason, string subscriptionId);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error,
        Message = "Could not move stream entry {EntryId} of {QueueKey} (stream {StreamId}) to the dead-letter stream; it stays pending and will be read again.")]
    public static partial void DeadLetterFailed(this ILogger logger, Exception exception, string entryId, string queueKey, string streamId);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning,
        Message = "Stream entry {EntryId} of {QueueKey} was trimmed (MAXLEN) or deleted before it was delivered; it is lost. Raise MaxStreamLength if this repeats.")]
    public static partial void EntryTrimmed(this ILogger logger, string entryId, string queueKey);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning,
        Message = "Subscription {SubscriptionId} on stream {StreamId} of provider {Provider} failed (at {Token}).")]
    public static partial void SubscriptionFailed(this ILogger logger, string subscriptionId, string streamId, string provider, string token);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning,
        Message = "Delivery failed on stream {StreamId} of provider {Provider} without a Redis token ({Token}); nothing to dead-letter.")]
    public static partial void DeliveryFailedWithoutEntry(this ILogger logger, string streamId, string provider, string token);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug,
        Message = "Redis stream queue {QueueKey} released (consumer {Consumer}); {InFlightCount} entries read here and not acknowledged stay pending for the next owner.")]
    public static partial void QueueReleased(this ILogger logger, string queueKey, string consumer, int inFlightCount);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information,
        Message = "Found pending entries of {QueueKey} that were not in flight here (left by an overlapping owner or by a read whose reply was lost); delivering them again.")]
    public static partial void PendingRescan(this ILogger logger, string queueKey);
}
