using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Streams.Redis;

internal static partial class RedisStreamLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis stream consumer {ConsumerName} of group {ConsumerGroup} on {StreamNamespace} failed; retrying in {DelayMs} ms: {Error}")]
    public static partial void ConsumerFailed(ILogger logger, string streamNamespace, string consumerGroup, string consumerName, double delayMs, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis stream consumer {ConsumerName} of group {ConsumerGroup} on {StreamNamespace} resumed")]
    public static partial void ConsumerResumed(ILogger logger, string streamNamespace, string consumerGroup, string consumerName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Acknowledging {Count} entries of {StreamNamespace} in group {ConsumerGroup} failed; they will be delivered again: {Error}")]
    public static partial void AckFailed(ILogger logger, string streamNamespace, int count, string consumerGroup, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reclaimed {Count} idle entries of {RedisKey} for consumer {ConsumerName}")]
    public static partial void Reclaimed(ILogger logger, int count, string redisKey, string consumerName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing the pending entries of consumer {ConsumerName} of group {ConsumerGroup} on {StreamNamespace} failed; they return after the visibility timeout: {Error}")]
    public static partial void ReleaseFailed(ILogger logger, string streamNamespace, string consumerGroup, string consumerName, string error);
}
