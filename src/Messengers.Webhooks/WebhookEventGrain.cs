using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Messengers.Webhooks;

/// <summary>
/// Turns the entries of a chat's message streams and an instance's status stream into outbox rows (implicit
/// subscriptions: one activation per stream key). Events are built only for instances with subscriptions. A failed
/// write throws, so the stream delivers the entry again; the event ids make the retry add no second row.
/// </summary>
[ImplicitStreamSubscription(MessageStreams.Inbound)]
[ImplicitStreamSubscription(MessageStreams.Outbound)]
[ImplicitStreamSubscription(MessageStreams.Status)]
[CollectionAgeLimit(Minutes = 2)]
public sealed class WebhookEventGrain(WebhookEventWriter writer) : Grain, IWebhookEventGrain, IStreamSubscriptionObserver
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        switch (handleFactory.StreamId.GetNamespace())
        {
            case MessageStreams.Status:
                await handleFactory.Create<InstanceInfo>().ResumeAsync((info, _) => WriteAsync(info.Id, info, WebhookEvent.FromStatus));
                break;
            case MessageStreams.Outbound:
                await handleFactory.Create<ChatMessage>().ResumeAsync((message, _) => WriteAsync(message.InstanceId, message, WebhookEvent.FromOutbound));
                break;
            default:
                await handleFactory.Create<ChatMessage>().ResumeAsync((message, _) => WriteAsync(message.InstanceId, message, WebhookEvent.FromInbound));
                break;
        }
    }

    private async Task WriteAsync<T>(string instanceId, T item, Func<T, IReadOnlyList<WebhookEvent>> events)
    {
        var subscriptions = await GrainFactory.GetGrain<IWebhookSubscriptionsGrain>(instanceId).GetAsync();
        if (subscriptions.Count > 0)
        {
            await writer.WriteAsync(events(item), subscriptions);
        }
    }
}
