using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Runtime;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Agents.Bridge;

/// <summary>
/// The agent bridge: a consumer group ("agents") over the inbound stream. Each stored incoming message goes to the
/// instance's agent backend and the reply is sent through the chat's grain. The reply's client id is derived from the
/// incoming message id, so a redelivered entry never produces a second reply.
/// </summary>
/// <remarks>
/// The inbound stream is keyed by instance, but agent calls only need order within a chat: entries are handed to a
/// queue ordered per chat, many chats in flight at once, and each entry is acknowledged only when its reply was sent.
/// An entry whose call failed stays unacknowledged and is delivered again after the visibility timeout.
/// </remarks>
public sealed class AgentBridge(IServiceProvider services, IGrainFactory grains, AgentBackends backends, Grains.Instances.MessengerProviders providers, ILogger<AgentBridge> logger) : IHostedService, IDisposable
{
    public const string ConsumerGroup = "agents";
    private const int HistoryTurns = 20;
    private const int MaxCallsInFlight = 256;
    private readonly TaskCompletionSource<IStreamSubscription> _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private OrderedDispatcher<StreamEntry<ChatMessage>>? _work;
    private IStreamSubscription? _subscription;

    public void Dispose()
    {
        _work?.Dispose();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var streams = services.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider);
        _work = new OrderedDispatcher<StreamEntry<ChatMessage>>(MaxCallsInFlight, e => new StreamId(e.Item.InstanceId, e.Item.ChatId), RunAndAcknowledgeAsync);
        _subscription = await streams.SubscribeAsync<ChatMessage>(
            MessageStreams.Inbound,
            ConsumerGroup,
            (entry, ct) => _work.EnqueueAsync(entry, ct).AsTask(),
            new StreamSubscriptionOptions { MaxConcurrency = 64, AutoAcknowledge = false, VisibilityTimeout = TimeSpan.FromMinutes(5), RetryDelay = TimeSpan.FromSeconds(2), MaxDeliveryAttempts = 5 },
            cancellationToken);
        _subscribed.TrySetResult(_subscription);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }

        if (_work is not null)
        {
            try
            {
                await _work.DrainAsync().WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Shutdown ran out of time: the unfinished calls stay unacknowledged and are delivered again later.
                logger.LogWarning("Agent bridge stopped with {Count} agent calls unfinished; they will be delivered again", _work.InFlight);
            }
        }
    }

    private async Task RunAndAcknowledgeAsync(StreamEntry<ChatMessage> entry)
    {
        try
        {
            await HandleAsync(entry, CancellationToken.None);
            var subscription = await _subscribed.Task; // an entry can arrive before SubscribeAsync has returned
            await subscription.AcknowledgeAsync(entry.StreamId, entry.EntryId);
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Agent call for {InstanceId}/{MessageId} failed (delivery {DeliveryCount}); it will be delivered again", entry.Item.InstanceId, entry.Item.MessageId, entry.DeliveryCount);
        }
    }

    private async Task HandleAsync(StreamEntry<ChatMessage> entry, CancellationToken cancellationToken)
    {
        var message = entry.Item;
        ConnectionConfig config;
        try
        {
            config = await grains.GetGrain<IInstanceGrain>(message.InstanceId).GetConnectionConfigAsync();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogInformation("No agent call for {InstanceId}/{MessageId}: {Reason}", message.InstanceId, message.MessageId, exception.Message);
            return;
        }

        var agent = config.Agent;
        var chat = grains.GetGrain<IChatSessionGrain>(ChatKey.For(message.InstanceId, message.ChatId));
        if (message.IsFromMe)
        {
            // The operator writing from the account itself can hand the chat to a human and back.
            var body = message.Body.Trim();
            if (string.Equals(body, agent.PauseKeyword, StringComparison.OrdinalIgnoreCase) || string.Equals(body, agent.ResumeKeyword, StringComparison.OrdinalIgnoreCase))
            {
                await chat.SetAgentPausedAsync(string.Equals(body, agent.PauseKeyword, StringComparison.OrdinalIgnoreCase));
            }

            return;
        }

        if (!agent.Enabled || (message.IsGroup && !agent.AnswerGroups) || !backends.TryGet(agent.Backend, out var backend) || await chat.IsAgentPausedAsync())
        {
            return;
        }

        var recent = await chat.GetRecentAsync(HistoryTurns + 1);
        var history = recent
            .Where(m => m.MessageId != message.MessageId && !string.IsNullOrEmpty(m.Body))
            .TakeLast(HistoryTurns)
            .Select(m => new AgentHistoryTurn(m.IsFromMe ? AgentRole.Assistant : AgentRole.User, m.Body))
            .ToList();
        var agentId = agent.AgentId ?? agent.Backend;
        var sessionId = AgentSessionId.For(agentId, message.ChatId);
        var request = new AgentRequest(
            message.InstanceId,
            message.ChatId,
            agentId,
            sessionId,
            agent.UserId ?? message.From ?? message.ChatId,
            message.Body,
            [],
            history,
            Endpoint(agent, config))
        {
            MessageId = message.MessageId,
        };

        await SetTypingAsync(message, true);
        var reply = await backend.RunAsync(request, cancellationToken);
        if (reply.IsEmpty)
        {
            await SetTypingAsync(message, false);
            return;
        }

        var text = reply.Urls.Count == 0 ? reply.Text : string.Join("\n", [reply.Text, .. reply.Urls]);
        var limit = providers.TryGet(config.Provider, out var provider) ? provider.MaxTextLength : 4096;
        var parts = ReplySplitter.Split(text, limit);
        for (var i = 0; i < parts.Count; i++)
        {
            // Each part has its own stable client id, so a redelivery resends none of the parts already sent.
            await chat.SendAsync(new OutgoingMessage
            {
                ChatId = message.ChatId,
                Text = parts[i],
                ClientMessageId = i == 0 ? "reply-" + message.MessageId : $"reply-{message.MessageId}-{i}",
                AgentId = agentId,
                SessionId = sessionId,
            });
        }
    }

    private async Task SetTypingAsync(ChatMessage message, bool typing)
    {
        try
        {
            await grains.GetGrain<IProviderClientGrain>(message.InstanceId).SetTypingAsync(message.ChatId, typing);
        }
        catch (Exception exception) when (exception is CapabilityNotSupportedException or InstanceNotReadyException)
        {
            // typing is a courtesy; providers without it simply skip it
        }
    }

    private static AgentEndpoint Endpoint(AgentSettings agent, ConnectionConfig config) => new(agent.BaseUrl ?? "")
    {
        ApiKey = config.Credentials.TryGetValue("agentApiKey", out var key) ? key : null,
        Shape = Enum.TryParse<AgnoShape>(agent.Shape, ignoreCase: true, out var shape) ? shape : AgnoShape.AgentOs,
        Stream = agent.Stream,
        Timeout = TimeSpan.FromSeconds(Math.Clamp(agent.TimeoutSeconds, 1, 600)),
        Model = agent.Model,
        SystemPrompt = agent.SystemPrompt,
    };
}
