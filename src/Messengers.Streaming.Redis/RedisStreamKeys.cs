using System.Globalization;

namespace Messengers.Streaming.Redis;

/// <summary>The Redis key layout of the provider (README.md documents it), for tools that inspect queues and dead letters.</summary>
public static class RedisStreamKeys
{
    /// <summary>Field of a queue entry that holds the Orleans-serialized batch container.</summary>
    public const string PayloadField = "b";

    /// <summary>Dead-letter field: id of the original entry in its queue.</summary>
    public const string DeadLetterEntryField = "entry";

    /// <summary>Dead-letter field: key of the queue the entry came from.</summary>
    public const string DeadLetterQueueField = "queue";

    /// <summary>Dead-letter field: the Orleans stream id (<c>namespace/key</c>), when known.</summary>
    public const string DeadLetterStreamField = "stream";

    /// <summary>Dead-letter field: why the entry was dead-lettered.</summary>
    public const string DeadLetterReasonField = "reason";

    /// <summary>Dead-letter field: the subscription (consumer) that failed, when known.</summary>
    public const string DeadLetterSubscriptionField = "subscription";

    /// <summary>Dead-letter field: when the entry was dead-lettered (ISO 8601, UTC).</summary>
    public const string DeadLetterTimeField = "at";

    /// <summary>The key prefix shared by every key of one provider: <c>{keyPrefix}:{serviceId}:{provider}</c>.</summary>
    public static string ProviderPrefix(string keyPrefix, string serviceId, string providerName) => $"{keyPrefix}:{serviceId}:{providerName}";

    /// <summary>The stream key of queue <paramref name="queueNumber"/> (0 … QueueCount − 1).</summary>
    public static string Queue(string keyPrefix, string serviceId, string providerName, uint queueNumber)
        => ProviderPrefix(keyPrefix, serviceId, providerName) + ":" + queueNumber.ToString(CultureInfo.InvariantCulture);

    /// <summary>The dead-letter stream key of a provider.</summary>
    public static string DeadLetter(string keyPrefix, string serviceId, string providerName) => ProviderPrefix(keyPrefix, serviceId, providerName) + ":dead";

    /// <summary>
    /// The consumer name a queue is read under, the same on every silo, so that whichever silo owns the queue next
    /// inherits the pending entries of the previous owner.
    /// </summary>
    public static string Consumer(uint queueNumber) => "queue-" + queueNumber.ToString(CultureInfo.InvariantCulture);
}
