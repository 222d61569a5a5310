using Orleans.Runtime;
using Orleans.Streams;

namespace Messengers.Streaming.Redis;

/// <summary>
/// One queue entry: the events a producer passed in one <c>OnNextAsync</c>/<c>OnNextBatchAsync</c> call, their stream id and the
/// producer's request context. Written with the Orleans serializer into the <see cref="RedisStreamKeys.PayloadField"/> field;
/// the token is not written but set from the entry id when the entry is read.
/// </summary>
[GenerateSerializer, Alias("Messengers.Streaming.Redis.RedisStreamBatchContainer")]
internal sealed class RedisStreamBatchContainer : IBatchContainer
{
    public RedisStreamBatchContainer(StreamId streamId, List<object> events, Dictionary<string, object>? requestContext)
    {
        StreamId = streamId;
        Events = events;
        RequestContext = requestContext;
    }

    [Id(0)]
    public StreamId StreamId { get; }

    [Id(1)]
    public List<object> Events { get; }

    [Id(2)]
    public Dictionary<string, object>? RequestContext { get; }

    /// <summary>Set from the entry id when read; null only in a container that was never read from Redis.</summary>
    [Id(3)]
    public RedisStreamSequenceToken? Token { get; set; }

    public StreamSequenceToken SequenceToken => Token ?? throw new InvalidOperationException("The batch container was not read from Redis.");

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        var token = (RedisStreamSequenceToken)SequenceToken;
        return Events.OfType<T>().Select((item, index) => Tuple.Create<T, StreamSequenceToken>(item, token.WithEventIndex(index)));
    }

    public bool ImportRequestContext()
    {
        if (RequestContext is null)
        {
            return false;
        }

        RequestContextExtensions.Import(RequestContext);
        return true;
    }

    public override string ToString() => $"RedisStreamBatchContainer({StreamId}, {Token}, {Events.Count} events)";
}
