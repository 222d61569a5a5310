using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Streams;

/// <summary>Log messages shared by the stream providers.</summary>
public static partial class StreamLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream handler failed for {StreamNamespace}/{StreamKey} entry {EntryId} in group {ConsumerGroup} (delivery {DeliveryCount}); it will be delivered again")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string streamNamespace, string streamKey, string entryId, string consumerGroup, int deliveryCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stream entry {StreamNamespace}/{StreamKey} {EntryId} moved to the dead-letter stream after {DeliveryCount} deliveries to group {ConsumerGroup}: {LastError}")]
    public static partial void DeadLettered(ILogger logger, string streamNamespace, string streamKey, string entryId, string consumerGroup, int deliveryCount, string? lastError);
}
