using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Data.Webhooks;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Messengers.Webhooks;

/// <summary>
/// Turns the entries of a chat's message streams and an instance's status stream into outbox rows (implicit
/// subscriptions: one activation per stream key). Events are built only for instances with subscriptions, which
/// this grain watches (<see cref="IWebhookSubscriptionsGrain.WatchAsync"/>) rather than asks for per entry. A failed
/// write throws, so the stream delivers the entry again; the event ids make the retry add no second row.
/// </summary>
[ImplicitStreamSubscription(MessageStreams.Inbound)]
[ImplicitStreamSubscription(MessageStreams.Outbound)]
[ImplicitStreamSubscription(MessageStreams.Status)]
[CollectionAgeLimit(Minutes = 2)]
public sealed class WebhookEventGrain(WebhookEventWriter writer, WebhookOptions options, TimeProvider time)
    : Grain, IWebhookEventGrain, IStreamSubscriptionObserver
{
    private IReadOnlyList<WebhookSubscription>? _subscriptions;
    private long _receivedAt;
    private string? _watched;

    /// <summary>Set when a push arrives, so that an older answer to a watch still on its way does not overwrite it.</summary>
    private int _pushes;

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

    public Task SubscriptionsChangedAsync(IReadOnlyList<WebhookSubscription>? subscriptions)
    {
        _pushes++;
        _subscriptions = subscriptions;
        _receivedAt = time.GetTimestamp();
        return Task.CompletedTask;
    }

    /// <summary>Unwatches, unless the silo is stopping: its grains are going away, and the call could not be placed.</summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
        => _watched is null || reason.ReasonCode == DeactivationReasonCode.ShuttingDown
            ? Task.CompletedTask
            : Subscriptions(_watched).UnwatchAsync(this.AsReference<IWebhookEventGrain>());

    private async Task WriteAsync<T>(string instanceId, T item, Func<T, IReadOnlyList<WebhookEvent>> events)
    {
        var subscriptions = await SubscriptionsAsync(instanceId);
        if (subscriptions.Count > 0)
        {
            await writer.WriteAsync(events(item), subscriptions);
        }
    }

    private async ValueTask<IReadOnlyList<WebhookSubscription>> SubscriptionsAsync(string instanceId)
    {
        if (_subscriptions is { } known && _watched == instanceId && time.GetElapsedTime(_receivedAt) < options.SubscriptionCacheTime)
        {
            return known;
        }

        var pushes = _pushes;
        var receivedAt = time.GetTimestamp();
        var subscriptions = await Subscriptions(instanceId).WatchAsync(this.AsReference<IWebhookEventGrain>());
        _watched = instanceId;
        if (pushes != _pushes)
        {
            return _subscriptions ?? subscriptions; // a change was pushed while asking: it is at least as new
        }

        _subscriptions = subscriptions;
        _receivedAt = receivedAt;
        return subscriptions;
    }

    private IWebhookSubscriptionsGrain Subscriptions(string instanceId) => GrainFactory.GetGrain<IWebhookSubscriptionsGrain>(instanceId);
}
