using Orleans.Streams;
using Orleans.Streams.Core;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>Records what it receives on every provider's streams of the test namespaces (see <see cref="StreamNamespaces"/>).</summary>
[ImplicitStreamSubscription(StreamNamespaces.Recorded)]
[ImplicitStreamSubscription(StreamNamespaces.Blocking)]
[ImplicitStreamSubscription(StreamNamespaces.Poison)]
public sealed class RecordingConsumerGrain(StreamRecorder recorder) : Grain, IRecordingConsumerGrain, IStreamSubscriptionObserver
{
    public Task PingAsync() => Task.CompletedTask;

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        var handle = handleFactory.Create<TestEvent>();
        var provider = handleFactory.ProviderName;
        var stream = handle.StreamId.ToString();
        var streamNamespace = handle.StreamId.GetNamespace();
        await handle.ResumeAsync(async (item, token) =>
        {
            if (streamNamespace == StreamNamespaces.Poison && item.Poison)
            {
                throw new InvalidOperationException($"Poison event {item.Number} on {stream}.");
            }

            recorder.Record(new ReceivedEvent(provider, stream, item.Number, token?.ToString() ?? string.Empty));
            if (streamNamespace == StreamNamespaces.Blocking)
            {
                await recorder.Gate;
            }
        });
    }
}
