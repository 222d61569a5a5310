using Messengers.Abstractions;
using Messengers.Abstractions.Agents;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Data.Messages;
using Orleans.Runtime;
using Orleans.Streams;

namespace Messengers.Grains.Instances;

[GenerateSerializer, Alias("messengers.ChatSessionState")]
public sealed class ChatSessionState
{
    // Ids 0 and 1 held a client-id map; the message rows record client ids now (client_message_id).
    [Id(2)] public bool AgentPaused { get; set; }
}

/// <summary>
/// One dialog. Incoming messages are stored once (the store's unique key dedupes) and then published on the chat's
/// stream; outgoing ones go through the provider, then are stored and published, so history, webhooks and counters
/// see both. An incoming message stays in the outbox until the chat's agent turn is done with it (the agent grain
/// marks it), so a crash before the answer replays it at the next start; outgoing ones leave the outbox once published.
/// A send with a client message id is idempotent: the stored row keeps the client id (client_message_id) and the
/// activation reads the client ids of the chat's latest <see cref="ClientIdWindow"/> messages once, so a send costs
/// one row insert and no grain-state write. The outbox mark is written later, in batches, by <see cref="PublishedMarks"/>.
/// </summary>
public sealed class ChatSessionGrain(
    [PersistentState(ChatSessionGrain.StateName, StorageNames.Grains)] IPersistentState<ChatSessionState> state,
    IMessageStore store,
    PublishedMarks publishedMarks,
    MessageCounter counter,
    TimeProvider time) : Grain, IChatSessionGrain
{
    public const string StateName = "chat";

    private const int RecentWindow = 50;

    /// <summary>How many of the chat's latest messages a repeated client message id is recognised among.</summary>
    private const int ClientIdWindow = 200;
    private readonly LinkedList<ChatMessage> _recent = new();
    private readonly Dictionary<string, ChatMessage> _sentByClientId = new(StringComparer.Ordinal);
    private readonly Queue<string> _clientIdOrder = new();
    private bool _historyLoaded;

    // Worked out once per activation: every message uses the key and both streams.
    private (string InstanceId, string ChatId)? _key;
    private IAsyncStream<ChatMessage>? _inbound;
    private IAsyncStream<ChatMessage>? _outbound;
    private IProviderClientGrain? _client;

    private (string InstanceId, string ChatId) Key => _key ??= ChatKey.Parse(this.GetPrimaryKeyString());

    public async Task<bool> ReceiveAsync(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (instanceId, chatId) = Key;
        var stored = message.ToStored(instanceId, chatId, time.GetUtcNow());

        if (!await store.TryInsertAsync(stored))
        {
            return false; // seen before: already published
        }

        Remember(stored);
        await (_inbound ??= Stream(MessageStreams.Inbound)).OnNextAsync(stored);
        counter.Count(instanceId, outgoing: false);
        return true;
    }

    public async Task<ChatMessage> SendAsync(OutgoingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (instanceId, chatId) = Key;
        if (message.ClientMessageId is { } clientId)
        {
            await EnsureHistoryLoadedAsync();
            if (_sentByClientId.TryGetValue(clientId, out var earlier))
            {
                return earlier;
            }
        }

        var result = await (_client ??= GrainFactory.GetGrain<IProviderClientGrain>(instanceId)).SendAsync(message with { ChatId = chatId });
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
            ClientMessageId = message.ClientMessageId,
        };

        await store.TryInsertAsync(stored);
        Remember(stored);
        if (stored.ClientMessageId is { } sentId)
        {
            RememberClientId(sentId, stored);
        }

        await (_outbound ??= Stream(MessageStreams.Outbound)).OnNextAsync(stored);
        publishedMarks.Add(stored.InstanceId, stored.MessageId);
        counter.Count(instanceId, outgoing: true);
        return stored;
    }

    public async Task<IReadOnlyList<ChatMessage>> GetRecentAsync(int count)
    {
        await EnsureHistoryLoadedAsync();
        return [.. _recent.Skip(Math.Max(0, _recent.Count - count))];
    }

    public async Task SetAgentPausedAsync(bool paused)
    {
        if (state.State.AgentPaused != paused)
        {
            state.State.AgentPaused = paused;
            await state.WriteStateAsync();
        }

        // Told even when unchanged: a repeated request repairs an agent that missed the first one.
        await GrainFactory.GetGrain<IChatAgentGrain>(this.GetPrimaryKeyString()).AgentPausedChangedAsync(paused);
    }

    public Task<bool> IsAgentPausedAsync() => Task.FromResult(state.State.AgentPaused);

    /// <summary>Reads the chat's latest messages once per activation: the recent window and the client ids sent.</summary>
    private async Task EnsureHistoryLoadedAsync()
    {
        if (_historyLoaded)
        {
            return;
        }

        var (instanceId, chatId) = Key;
        var loaded = await store.GetMessagesAsync(instanceId, chatId, ClientIdWindow); // newest first
        var known = _recent.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
        var first = _recent.First;
        foreach (var older in loaded.Where(m => !known.Contains(m.MessageId)).Reverse())
        {
            // Older than anything this activation stored itself: goes before it.
            if (first is null)
            {
                _recent.AddLast(older);
            }
            else
            {
                _recent.AddBefore(first, older);
            }

            if (older.ClientMessageId is { } clientId && !_sentByClientId.ContainsKey(clientId))
            {
                RememberClientId(clientId, older);
            }
        }

        TrimRecent();
        _historyLoaded = true;
    }

    private void RememberClientId(string clientId, ChatMessage message)
    {
        if (_sentByClientId.TryAdd(clientId, message))
        {
            _clientIdOrder.Enqueue(clientId);
            while (_clientIdOrder.Count > ClientIdWindow)
            {
                _sentByClientId.Remove(_clientIdOrder.Dequeue());
            }
        }
    }

    private void Remember(ChatMessage message)
    {
        _recent.AddLast(message);
        TrimRecent();
    }

    private void TrimRecent()
    {
        while (_recent.Count > RecentWindow)
        {
            _recent.RemoveFirst();
        }
    }

    private IAsyncStream<ChatMessage> Stream(string streamNamespace)
        => this.GetStreamProvider(MessageStreams.Provider).GetStream<ChatMessage>(StreamId.Create(streamNamespace, this.GetPrimaryKeyString()));

    private static string MediaType(string contentType) => contentType switch
    {
        _ when contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) => MessageTypes.Image,
        _ when contentType.StartsWith("video/", StringComparison.OrdinalIgnoreCase) => MessageTypes.Video,
        _ when contentType.StartsWith("audio/ogg", StringComparison.OrdinalIgnoreCase) => MessageTypes.Voice,
        _ when contentType.StartsWith("audio/", StringComparison.OrdinalIgnoreCase) => MessageTypes.Audio,
        _ => MessageTypes.Document,
    };
}
