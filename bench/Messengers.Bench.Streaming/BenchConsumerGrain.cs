using Orleans.Streams;
using Orleans.Streams.Core;

namespace Messengers.Bench.Streaming;

/// <summary>Counts every event of its chat stream.</summary>
[ImplicitStreamSubscription(RedisStreamsProviderBenchmark.Namespace)]
public sealed class BenchConsumerGrain(DeliveryCounter counter) : Grain, IBenchConsumerGrain, IStreamSubscriptionObserver
{
    public Task PingAsync() => Task.CompletedTask;

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        var handle = handleFactory.Create<BenchEvent>();
        await handle.ResumeAsync((item, _) =>
        {
            counter.Record(item.SentAt);
            return Task.CompletedTask;
        });
    }
}
