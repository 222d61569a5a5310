using Messengers.Abstractions.Instances;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Messengers.Grains.Instances;

/// <summary>
/// Consumes an instance's status stream (implicit subscription, key: instance id) and hands each change to the
/// <see cref="IStatusFeedGrain"/>, which tells the live feeds of every silo.
/// </summary>
[ImplicitStreamSubscription(MessageStreams.Status)]
[CollectionAgeLimit(Minutes = 5)]
public sealed class StatusForwarderGrain : Grain, IStatusForwarderGrain, IStreamSubscriptionObserver
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        await handleFactory.Create<InstanceInfo>().ResumeAsync((info, _) => GrainFactory.GetGrain<IStatusFeedGrain>(IStatusFeedGrain.Key).PublishAsync(info));
    }
}
