using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Runtime;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Streams;

namespace Messengers.Grains.Instances;

[GenerateSerializer]
public sealed class ChatSessionState
{
    /// <summary>Recent client message ids and the message each produced, so a repeated send is answered, not sent again.</summary>
    [Id(0)] public Dictionary<string, string> SentByClientId { get; set; } = [];
    [Id(1)] public Queue<string> ClientIdOrder { get; set; } = new();
    [Id(2)] public bool AgentPaused { get; set; }
}

/// <summary>
/// One dialog. Incoming messages are stored once (the store's unique key dedupes) and then published; outgoing
/// ones go through the provider, then are stored and published, so history, webhooks and counters see both.
/// </summary>
public sealed class ChatSessionGrain(
    [PersistentState("chat")] IPersistentState<ChatSessionState> state,
    IMessageStore store,
    TimeProvider time) : Grain, IChatSessionGrain
{
    private const int RecentWindow = 50;
    private const int RememberedClientIds = 200;
    private readonly LinkedList<ChatMessage> _recent = new();
    private bool _recentLoaded;

    private (string InstanceId, string ChatId) Key => ChatKey.Parse(this.GetPrimaryKeyString());

    public async Task<bool> ReceiveAsync(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (instanceId, chatId) = Key;
        var stored = new ChatMessage
        {
            InstanceId = instanceId,
            MessageId = message.MessageId,
            ChatId = chatId,
            From = message.From,
            To = null,
            Body = message.Body,
            Type = message.Type,
            IsFromMe = message.IsFromMe,
            IsGroup = message.IsGroup,
            GroupId = message.GroupId,
            ContactName = message.ContactName,
            ReplyToMessageId = message.ReplyToMessageId,
            Media = message.Media,
            Timestamp = message.Timestamp == default ? time.GetUtcNow() : message.Timestamp,
            CreatedAt = time.GetUtcNow(),
        };

        if (!await store.TryInsertAsync(stored))
        {
            return false; // seen before: already published
        }

        Remember(stored);
        await PublishAsync(MessageStreams.Inbound, stored);
        await GrainFactory.GetGrain<IInstanceGrain>(instanceId).CountMessageAsync(outgoing: false);
        return true;
    }

    public async Task<ChatMessage> SendAsync(OutgoingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (instanceId, chatId) = Key;
        if (message.ClientMessageId is { } clientId && state.State.SentByClientId.TryGetValue(clientId, out var earlierId))
        {
            var earlier = await store.GetAsync(instanceId, earlierId);
            if (earlier is not null)
            {
                return earlier;
            }
        }

        var result = await GrainFactory.GetGrain<IProviderClientGrain>(instanceId).SendAsync(message with { ChatId = chatId });
        var stored = new ChatMessage
        {
            InstanceId = instanceId,
            MessageId = result.MessageId,
            ChatId = chatId,
            To = chatId,
            Body = message.Text,
            Type = message.Media is null ? MessageTypes.Text : MediaType(message.Media.ContentType),
            IsFromMe = true,
            AgentId = message.AgentId,
            SessionId = message.SessionId,
            ReplyToMessageId = message.ReplyToMessageId,
            Media = message.Media,
            Ack = MessageAck.Sent,
            Timestamp = result.Timestamp,
            CreatedAt = time.GetUtcNow(),
        };

        await store.TryInsertAsync(stored);
        if (message.ClientMessageId is { } id)
        {
            state.State.SentByClientId[id] = stored.MessageId;
            state.State.ClientIdOrder.Enqueue(id);
            while (state.State.ClientIdOrder.Count > RememberedClientIds)
            {
                state.State.SentByClientId.Remove(state.State.ClientIdOrder.Dequeue());
            }

            await state.WriteStateAsync();
        }

        Remember(stored);
        await PublishAsync(MessageStreams.Outbound, stored);
        await GrainFactory.GetGrain<IInstanceGrain>(instanceId).CountMessageAsync(outgoing: true);
        return stored;
    }

    public async Task<IReadOnlyList<ChatMessage>> GetRecentAsync(int count)
    {
        if (!_recentLoaded)
        {
            var (instanceId, chatId) = Key;
            var loaded = await store.GetMessagesAsync(instanceId, chatId, RecentWindow);
            foreach (var m in loaded.Reverse())
            {
                if (_recent.All(r => r.MessageId != m.MessageId))
                {
                    _recent.AddLast(m);
                }
            }

            _recentLoaded = true;
        }

        return [.. _recent.Skip(Math.Max(0, _recent.Count - count))];
    }

    public async Task SetAgentPausedAsync(bool paused)
    {
        if (state.State.AgentPaused != paused)
        {
            state.State.AgentPaused = paused;
            await state.WriteStateAsync();
        }
    }

    public Task<bool> IsAgentPausedAsync() => Task.FromResult(state.State.AgentPaused);

    private void Remember(ChatMessage message)
    {
        _recent.AddLast(message);
        while (_recent.Count > RecentWindow)
        {
            _recent.RemoveFirst();
        }
    }

    private async Task PublishAsync(string streamNamespace, ChatMessage message)
    {
        await GetStreamProvider(StreamNames.DefaultProvider).GetStream<ChatMessage>(StreamId.Create(streamNamespace, message.InstanceId)).OnNextAsync(message);
        await store.MarkPublishedAsync(message.InstanceId, message.MessageId);
    }

    private static string MediaType(string contentType) => contentType switch
    {
        _ when contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) => MessageTypes.Image,
        _ when contentType.StartsWith("video/", StringComparison.OrdinalIgnoreCase) => MessageTypes.Video,
        _ when contentType.StartsWith("audio/ogg", StringComparison.OrdinalIgnoreCase) => MessageTypes.Voice,
        _ when contentType.StartsWith("audio/", StringComparison.OrdinalIgnoreCase) => MessageTypes.Audio,
        _ => MessageTypes.Document,
    };
}
