using Orleans.Runtime;
using Orleans.Streams;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Called by the pulling agent when a consumer kept failing on an entry for <c>MaxEventDeliveryTime</c> (the agent then
/// moves on): the entry is copied to the dead-letter stream with the reason and subscription, acknowledged, and logged
/// as a warning, never dropped silently.
/// </summary>
internal sealed class RedisDeadLetterFailureHandler(QueueId queueId, RedisQueueAdapterFactory factory) : IStreamFailureHandler
{
    /// <summary>Explicit subscriptions stay subscribed after a failure (implicit ones cannot be faulted anyway).</summary>
    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
        => factory.DeadLetterFailedDeliveryAsync(queueId, subscriptionId, streamIdentity, sequenceToken);

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
    {
        factory.LogSubscriptionFailure(subscriptionId, streamIdentity, sequenceToken);
        return Task.CompletedTask;
    }
}
