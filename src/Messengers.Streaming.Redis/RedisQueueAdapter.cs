using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Writes stream events (one <c>XADD</c> per producer call, <c>MAXLEN ~</c> <see cref="RedisStreamOptions.MaxStreamLength"/>)
/// to the queue key their stream id hashes to, and creates a receiver per queue. Redis failures are thrown to the producer.
/// </summary>
internal sealed class RedisQueueAdapter(
    string name,
    RedisStreamOptions options,
    IStreamQueueMapper queueMapper,
    RedisStreamConnection connection,
    Serializer<RedisStreamBatchContainer> serializer,
    Func<QueueId, string> queueKey,
    Func<QueueId, IQueueAdapterReceiver> createReceiver) : IQueueAdapter
{
    public string Name => name;

    /// <summary>Not rewindable: a consumer cannot ask for entries older than the agent's cache.</summary>
    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            throw new ArgumentException("The Redis stream provider assigns sequence tokens itself (from the entry id); pass no token.", nameof(token));
        }

        var container = new RedisStreamBatchContainer(streamId, events.Cast<object>().ToList(), requestContext);
        var payload = serializer.SerializeToArray(container);
        var key = queueKey(queueMapper.GetQueueForStream(streamId));
        var database = await connection.GetDatabaseAsync();
        await database.StreamAddAsync(
            key,
            RedisStreamKeys.PayloadField,
            payload,
            messageId: null,
            maxLength: options.MaxStreamLength,
            useApproximateMaxLength: true,
            limit: null,
            trimMode: StreamTrimMode.KeepReferences);
    }

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => createReceiver(queueId);
}
