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
public sealed class AgentBridge(IServiceProvider services, IGrainFactory grains, AgentBackends backends, ILogger<AgentBridge> logger) : IHostedService
{
    public const string ConsumerGroup = "agents";
    private const int HistoryTurns = 20;
    private IStreamSubscription? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var streams = services.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider);
        _subscription = await streams.SubscribeAsync<ChatMessage>(
            MessageStreams.Inbound,
            ConsumerGroup,
            HandleAsync,
            new StreamSubscriptionOptions { MaxConcurrency = 64, VisibilityTimeout = TimeSpan.FromMinutes(5), RetryDelay = TimeSpan.FromSeconds(2), MaxDeliveryAttempts = 5 },
            cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }
    }

    private async Task HandleAsync(StreamEntry<ChatMessage> entry, CancellationToken cancellationToken)
    {
        var message = entry.Item;
        if (message.IsFromMe)
        {
            return;
        }

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
        if (!agent.Enabled || (message.IsGroup && !agent.AnswerGroups) || !backends.TryGet(agent.Backend, out var backend))
        {
            return;
        }

        var chat = grains.GetGrain<IChatSessionGrain>(ChatKey.For(message.InstanceId, message.ChatId));
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
        await chat.SendAsync(new OutgoingMessage
        {
            ChatId = message.ChatId,
            Text = text,
            ClientMessageId = "reply-" + message.MessageId,
            AgentId = agentId,
            SessionId = sessionId,
        });
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
