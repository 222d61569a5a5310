using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Agents.DeadLetters;
using Messengers.Agents.Reliability;
using Messengers.Grains.Webhooks;
using Messengers.Runtime;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Agents.Bridge;

/// <summary>
/// The agent bridge: a consumer group ("agents") over the inbound stream. Each stored incoming message goes to the
/// instance's agent backend and the reply is sent through the chat's grain.
/// </summary>
/// <remarks>
/// <para>The inbound stream is keyed by instance, but agent calls only need order within a chat: each chat has a lane
/// that works through its entries one batch at a time, many chats in flight at once (<see cref="AgentBridgeOptions.MaxCallsInFlight"/>).
/// With <see cref="AgentSettings.DebounceSeconds"/> a lane waits until the user has been quiet that long and sends
/// everything since as one turn (bodies joined with new lines, in order).</para>
/// <para>A failed call is retried with backoff while its entries stay unacknowledged and the lane waits (later messages
/// of the chat queue behind it); after <see cref="AgentBridgeOptions.MaxAttempts"/> calls, or at once for a failure
/// retrying cannot fix, the batch is dead-lettered (<see cref="IAgentDeadLetterStore"/>, an <c>agent.failed</c> webhook
/// event) and acknowledged.</para>
/// <para>Exactly one reply: the reply's client id is "reply-" + the batch's first message id, and the chat grain sends a
/// client id once. Entries are acknowledged only after the reply was sent, last first, so that a crash between
/// acknowledgements leaves a prefix of the batch, whose redelivery (batched together again) maps to the same client id.</para>
/// </remarks>
public sealed partial class AgentBridge(
    IServiceProvider services,
    IGrainFactory grains,
    AgentBackends backends,
    Grains.Instances.MessengerProviders providers,
    IAgentDeadLetterStore deadLetters,
    IOptions<AgentBridgeOptions> options,
    TimeProvider time,
    ILogger<AgentBridge> logger) : IHostedService, IDisposable
{
    public const string ConsumerGroup = "agents";

    /// <summary>The instance credential holding the agent's key (sent as <c>Authorization: Bearer …</c>), whatever the provider.</summary>
    public const string ApiKeyCredential = "agentApiKey";
    private const int HistoryTurns = 20;

    /// <summary>A debounced turn waits at most this many debounce times after its first message.</summary>
    internal const int MaxDebounceFactor = 3;

    private readonly AgentBridgeOptions _options = options.Value;
    private readonly TaskCompletionSource<IStreamSubscription> _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Keyed by stream and entry id: Redis entry ids are unique per stream (instance) only.
    private readonly ConcurrentDictionary<(StreamId Stream, string EntryId), byte> _held = new();
    private readonly Dictionary<StreamId, ChatLane> _lanes = [];
    private readonly SemaphoreSlim _calls = new(options.Value.MaxCallsInFlight, options.Value.MaxCallsInFlight);
    private readonly SemaphoreSlim _room = new(options.Value.MaxHeldEntries, options.Value.MaxHeldEntries);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private WebhookEventWriter? _webhooks;
    private IStreamSubscription? _subscription;
    private int _running;
    private long _failedCalls;
    private TaskCompletionSource? _idle;
    private Task? _stop;

    /// <summary>Entries held now (queued, debouncing, in a call or waiting for a retry).</summary>
    public int HeldEntries => _held.Count;

    /// <summary>Agent calls that failed since start (each retried or dead-lettered).</summary>
    public long FailedCalls => Interlocked.Read(ref _failedCalls);

    public void Dispose()
    {
        _calls.Dispose();
        _room.Dispose();
        _stopping.Dispose();
        _abort.Dispose();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _options.Validate();
        _webhooks = services.GetService<WebhookEventWriter>();
        var streams = services.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider);
        _subscription = await streams.SubscribeAsync<ChatMessage>(
            MessageStreams.Inbound,
            ConsumerGroup,
            AcceptAsync,
            new StreamSubscriptionOptions
            {
                MaxConcurrency = 64,
                AutoAcknowledge = false,
                VisibilityTimeout = _options.VisibilityTimeout,
                RetryDelay = TimeSpan.FromSeconds(1),
                // The bridge retries and dead-letters itself; the stream's redeliveries only cover silos that died.
                MaxDeliveryAttempts = 1000,
            },
            cancellationToken);
        _subscribed.TrySetResult(_subscription);
    }

    /// <summary>
    /// Stop may be called more than once, even after <see cref="Dispose"/> (the host stops its services from StopAsync
    /// and from the application-stopping signal); every caller awaits the one run.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lanes)
        {
            return _stop ??= StopOnceAsync(cancellationToken);
        }
    }

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }

        // Debounce and retry waits end now; their entries stay unacknowledged and are delivered again later.
        await _stopping.CancelAsync();
        try
        {
            await IdleAsync().WaitAsync(_options.ShutdownGrace, time, cancellationToken);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            Log.CallsAbandoned(logger, _held.Count);
            await _abort.CancelAsync();
        }
    }

    /// <summary>
    /// Runs the agent again for a dead letter and sends its reply (same client id as the first try, so a reply that
    /// did get out is not sent twice). True when the agent answered; otherwise the dead letter is updated.
    /// </summary>
    public async Task<bool> RetryAsync(AgentDeadLetter deadLetter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        var config = await grains.GetGrain<IInstanceGrain>(deadLetter.InstanceId).GetConnectionConfigAsync();
        var messages = TurnOf(deadLetter);
        try
        {
            await AnswerAsync(messages, deadLetter.MessageIds, config, cancellationToken);
            await deadLetters.ResolveAsync(deadLetter.InstanceId, deadLetter.Id, time.GetUtcNow(), cancellationToken);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await deadLetters.RecordAsync(DeadLetterOf(messages, deadLetter.MessageIds, config, exception, deadLetter.Attempts + 1), cancellationToken);
            return false;
        }
    }

    /// <summary>
    /// The turn a dead letter stands for: its text with the first of its media, then one message per further medium
    /// (empty bodies, which the turn's text leaves out), so the agent gets the same text and attachments as before.
    /// </summary>
    internal static List<ChatMessage> TurnOf(AgentDeadLetter deadLetter)
    {
        ChatMessage Part(string body, MediaRef? media) => new()
        {
            InstanceId = deadLetter.InstanceId,
            MessageId = deadLetter.MessageId,
            ChatId = deadLetter.ChatId,
            From = deadLetter.From,
            IsGroup = deadLetter.IsGroup,
            Body = body,
            Media = media,
        };

        return [Part(deadLetter.Text, deadLetter.Media.Count > 0 ? deadLetter.Media[0] : null), .. deadLetter.Media.Skip(1).Select(media => Part("", media))];
    }

    private async Task AcceptAsync(StreamEntry<ChatMessage> entry, CancellationToken cancellationToken)
    {
        await _room.WaitAsync(cancellationToken);
        if (!_held.TryAdd((entry.StreamId, entry.EntryId), 0))
        {
            // Delivered again (visibility timeout) while this silo still works on it: the first delivery acknowledges it.
            _room.Release();
            return;
        }

        var key = new StreamId(entry.Item.InstanceId, entry.Item.ChatId);
        ChatLane lane;
        bool start;
        lock (_lanes)
        {
            if (!_lanes.TryGetValue(key, out lane!))
            {
                lane = new ChatLane();
                _lanes[key] = lane;
            }

            lane.LastArrival = time.GetUtcNow();
            lane.Pending.Enqueue(entry);
            lane.Arrivals.Enqueue(lane.LastArrival);
            start = !lane.Started;
            lane.Started = true;
            if (start)
            {
                _running++;
            }
        }

        if (start)
        {
            _ = Task.Run(() => RunLaneAsync(key, lane), CancellationToken.None);
        }
    }

    private async Task RunLaneAsync(StreamId key, ChatLane lane)
    {
        while (!_stopping.IsCancellationRequested)
        {
            StreamEntry<ChatMessage> first;
            lock (_lanes)
            {
                // Ending the lane under the same lock as AcceptAsync adds to it: no entry can slip in unseen.
                if (!lane.Pending.TryPeek(out first!))
                {
                    EndLane(key);
                    return;
                }
            }

            try
            {
                await RunNextBatchAsync(lane, first);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                // Not expected (a batch handles agent failures itself; this is storage or the runtime failing): that
                // batch comes back after the visibility timeout; the lane pauses, then goes on with the next entries.
                Log.LaneFailed(logger, exception, key.Namespace, key.Key);
                try
                {
                    await Task.Delay(_options.RetryDelay, time, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        // Stopping: whatever is left stays unacknowledged and is delivered again after the restart.
        List<StreamEntry<ChatMessage>> left;
        lock (_lanes)
        {
            left = [.. lane.Pending];
            lane.Pending.Clear();
            lane.Arrivals.Clear();
            EndLane(key);
        }

        Release(left);
    }

    /// <summary>Removes a lane; call under the <see cref="_lanes"/> lock.</summary>
    private void EndLane(StreamId key)
    {
        _lanes.Remove(key);
        _running--;
        if (_running == 0 && _idle is not null)
        {
            _idle.TrySetResult();
            _idle = null;
        }
    }

    private async Task RunNextBatchAsync(ChatLane lane, StreamEntry<ChatMessage> first)
    {
        var config = await LoadConfigAsync(first.Item);
        var debounce = config is null || first.Item.IsFromMe ? TimeSpan.Zero : TimeSpan.FromSeconds(config.Agent.DebounceSeconds);
        if (debounce > TimeSpan.Zero)
        {
            // Wait until the user has been quiet for the debounce time.
            while (true)
            {
                DateTimeOffset due;
                lock (_lanes)
                {
                    due = DebounceDue(lane.Arrivals.Peek(), lane.LastArrival, debounce);
                }

                var wait = due - time.GetUtcNow();
                if (wait <= TimeSpan.Zero)
                {
                    break;
                }

                await Task.Delay(wait, time, _stopping.Token);
            }
        }

        var batch = new List<StreamEntry<ChatMessage>>();
        lock (_lanes)
        {
            batch.Add(lane.Pending.Dequeue());
            lane.Arrivals.Dequeue();
            // A redelivered entry is batched only with other redelivered ones, so a batch cut short by a crash maps
            // to the same first message (and reply client id) as before.
            while (debounce > TimeSpan.Zero
                && lane.Pending.TryPeek(out var next)
                && !next.Item.IsFromMe
                && next.DeliveryCount > 1 == first.DeliveryCount > 1)
            {
                batch.Add(lane.Pending.Dequeue());
                lane.Arrivals.Dequeue();
            }
        }

        try
        {
            if (config is not null)
            {
                await ProcessAsync(batch, config);
            }

            await AcknowledgeAsync(batch);
        }
        finally
        {
            Release(batch);
        }
    }

    private async Task ProcessAsync(List<StreamEntry<ChatMessage>> batch, ConnectionConfig config)
    {
        var first = batch[0].Item;
        var chat = grains.GetGrain<IChatSessionGrain>(ChatKey.For(first.InstanceId, first.ChatId));
        if (first.IsFromMe)
        {
            // The operator writing from the account itself can hand the chat to a human and back.
            var body = first.Body.Trim();
            var agent = config.Agent;
            if (string.Equals(body, agent.PauseKeyword, StringComparison.OrdinalIgnoreCase) || string.Equals(body, agent.ResumeKeyword, StringComparison.OrdinalIgnoreCase))
            {
                await chat.SetAgentPausedAsync(string.Equals(body, agent.PauseKeyword, StringComparison.OrdinalIgnoreCase));
            }

            return;
        }

        var messages = batch.Select(e => e.Item).Where(AgentChatFilter.IsTurn).ToList();
        if (messages.Count == 0)
        {
            return; // only reactions: nothing to answer
        }

        var ids = messages.Select(m => m.MessageId).ToList();
        Answer? answer = null; // kept across attempts: when only sending failed, the agent is not asked again
        for (var attempt = 1; ; attempt++)
        {
            if (!AgentChatFilter.Answers(config.Agent, first) || !backends.TryGet(config.Agent.Backend, out _) || await chat.IsAgentPausedAsync())
            {
                return;
            }

            Exception failure;
            await _calls.WaitAsync(_stopping.Token);
            try
            {
                answer ??= await AskAsync(messages, ids, config, _abort.Token);
                await SendReplyAsync(messages[0], answer, config);
                return;
            }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception exception)
            {
                failure = exception;
                Interlocked.Increment(ref _failedCalls);
            }
            finally
            {
                _calls.Release();
            }

            if (!IsWorthRetrying(failure) || attempt >= _options.MaxAttempts)
            {
                await DeadLetterAsync(messages, ids, config, failure, attempt);
                return;
            }

#pragma warning disable CA5394 // jitter needs no cryptographic randomness
            var delay = RetryDelays.Backoff(attempt, _options.RetryDelay, _options.MaxRetryDelay, Random.Shared.NextDouble());
#pragma warning restore CA5394
            Log.CallFailed(logger, first.InstanceId, first.ChatId, first.MessageId, attempt, _options.MaxAttempts, delay, failure.Message);
            await Task.Delay(delay, time, _stopping.Token);
            // The operator may have fixed, switched off or deleted the agent's instance meanwhile.
            if (await LoadConfigAsync(first) is not { } current)
            {
                return;
            }

            config = current;
        }
    }

    /// <summary>One agent call for <paramref name="messages"/> (one turn), and its reply sent in parts.</summary>
    private async Task AnswerAsync(List<ChatMessage> messages, IReadOnlyList<string> messageIds, ConnectionConfig config, CancellationToken cancellationToken)
        => await SendReplyAsync(messages[0], await AskAsync(messages, messageIds, config, cancellationToken), config);

    /// <summary>The agent's reply to <paramref name="messages"/> (one turn), with the ids it is sent under.</summary>
    private async Task<Answer> AskAsync(List<ChatMessage> messages, IReadOnlyList<string> messageIds, ConnectionConfig config, CancellationToken cancellationToken)
    {
        var first = messages[0];
        var agent = config.Agent;
        if (!backends.TryGet(agent.Backend, out var backend))
        {
            throw new InvalidOperationException($"No agent backend '{agent.Backend}'.");
        }

        List<AgentHistoryTurn> history = [];
        if (backend.UsesHistory)
        {
            var chat = grains.GetGrain<IChatSessionGrain>(ChatKey.For(first.InstanceId, first.ChatId));
            var recent = await chat.GetRecentAsync(HistoryTurns + messageIds.Count);
            history = recent
                .Where(m => AgentChatFilter.IsTurn(m) && !messageIds.Contains(m.MessageId, StringComparer.Ordinal) && !string.IsNullOrEmpty(m.Body))
                .TakeLast(HistoryTurns)
                .Select(m => new AgentHistoryTurn(m.IsFromMe ? AgentRole.Assistant : AgentRole.User, m.Body))
                .ToList();
        }

        var agentId = agent.AgentId ?? agent.Backend;
        var sessionId = AgentSessionId.For(agentId, first.ChatId);
        var maxAttachmentBytes = services.GetService<IOptions<AgentBackendOptions>>()?.Value.MaxAttachmentBytes ?? new AgentBackendOptions().MaxAttachmentBytes;
        var (attachments, omitted) = await AgentMediaLoader.LoadAsync(services.GetService<IMediaStore>(), messages, maxAttachmentBytes, cancellationToken);
        var request = new AgentRequest(
            first.InstanceId,
            first.ChatId,
            agentId,
            sessionId,
            agent.UserId ?? first.From ?? first.ChatId,
            TurnText(messages),
            attachments,
            history,
            Endpoint(agent, config))
        {
            MessageId = first.MessageId,
            OmittedMedia = omitted,
        };

        // Typing is shown only while the agent is actually working: a backend that answers at once (echo, a flow)
        // replies without the indicator flickering on and off, and without two extra provider calls per message.
        var running = backend.RunAsync(request, cancellationToken);
        if (running.IsCompleted)
        {
            return new Answer(await running, agentId, sessionId);
        }

        await SetTypingAsync(first, true);
        try
        {
            return new Answer(await running, agentId, sessionId);
        }
        catch
        {
            await SetTypingAsync(first, false);
            throw;
        }
    }

    /// <summary>Sends <paramref name="answer"/> to the chat of <paramref name="first"/>, split to the provider's limit.</summary>
    private async Task SendReplyAsync(ChatMessage first, Answer answer, ConnectionConfig config)
    {
        var reply = answer.Reply;
        if (reply.IsEmpty)
        {
            await SetTypingAsync(first, false);
            return;
        }

        var chat = grains.GetGrain<IChatSessionGrain>(ChatKey.For(first.InstanceId, first.ChatId));
        var text = reply.Urls.Count == 0 ? reply.Text : string.Join("\n", [reply.Text, .. reply.Urls]);
        var limit = providers.TryGet(config.Provider, out var provider) ? provider.MaxTextLength : 4096;
        var parts = ReplySplitter.Split(text, limit);
        for (var i = 0; i < parts.Count; i++)
        {
            // Each part has its own stable client id, so a redelivery resends none of the parts already sent.
            await chat.SendAsync(new OutgoingMessage
            {
                ChatId = first.ChatId,
                Text = parts[i],
                ClientMessageId = i == 0 ? "reply-" + first.MessageId : $"reply-{first.MessageId}-{i}",
                AgentId = answer.AgentId,
                SessionId = answer.SessionId,
            });
        }
    }

    /// <summary>
    /// When a debounced turn goes to the agent: once the user has been quiet for <paramref name="debounce"/>, but no
    /// later than <see cref="MaxDebounceFactor"/> times that after its first message, so a user who keeps typing is
    /// still answered.
    /// </summary>
    internal static DateTimeOffset DebounceDue(DateTimeOffset firstArrival, DateTimeOffset lastArrival, TimeSpan debounce)
    {
        var quiet = lastArrival + debounce;
        var latest = firstArrival + (debounce * MaxDebounceFactor);
        return quiet < latest ? quiet : latest;
    }

    /// <summary>The user turn of a batch: the bodies in order, one per line (empty bodies, e.g. media only, left out).</summary>
    internal static string TurnText(IReadOnlyList<ChatMessage> messages)
        => messages.Count == 1 ? messages[0].Body : string.Join("\n", messages.Select(m => m.Body).Where(b => !string.IsNullOrWhiteSpace(b)));

    /// <summary>Transient failures (agent down, slow, overloaded; our own storage or grains busy) are worth another call; a rejected or misconfigured call is not.</summary>
    internal static bool IsWorthRetrying(Exception failure) => failure switch
    {
        AgentCallFailedException agent => agent.Reason switch
        {
            AgentFailureReason.Timeout or AgentFailureReason.ConnectionFailed or AgentFailureReason.CircuitOpen => true,
            AgentFailureReason.HttpStatus => agent.LastStatusCode is null or >= 500 or 408 or 429,
            _ => false,
        },
        _ => true,
    };

    private async Task DeadLetterAsync(List<ChatMessage> messages, IReadOnlyList<string> messageIds, ConnectionConfig config, Exception failure, int attempts)
    {
        var deadLetter = await deadLetters.RecordAsync(DeadLetterOf(messages, messageIds, config, failure, attempts), CancellationToken.None);
        Log.DeadLettered(logger, deadLetter.InstanceId, deadLetter.ChatId, deadLetter.MessageId, deadLetter.Id, attempts, deadLetter.Reason);
        if (_webhooks is not null)
        {
            await _webhooks.WriteAsync([WebhookEvent.AgentFailed(deadLetter.InstanceId, deadLetter.MessageId, deadLetter.ChatId, deadLetter.AgentId, deadLetter.Error, deadLetter.FailedAt)], CancellationToken.None);
        }
    }

    private AgentDeadLetter DeadLetterOf(List<ChatMessage> messages, IReadOnlyList<string> messageIds, ConnectionConfig config, Exception failure, int attempts)
    {
        var first = messages[0];
        var agentFailure = failure as AgentCallFailedException;
        return new AgentDeadLetter
        {
            InstanceId = first.InstanceId,
            ChatId = first.ChatId,
            MessageId = first.MessageId,
            MessageIds = messageIds,
            From = first.From,
            IsGroup = first.IsGroup,
            Text = TurnText(messages),
            Media = [.. messages.Select(m => m.Media).OfType<MediaRef>()],
            Backend = config.Agent.Backend,
            AgentId = config.Agent.AgentId ?? config.Agent.Backend,
            Reason = agentFailure?.Reason.ToString() ?? "Error",
            StatusCode = agentFailure?.LastStatusCode,
            // Agent failures are worded without keys or URL secrets; anything else is named by its type and message.
            Error = agentFailure?.Message ?? $"{failure.GetType().Name}: {failure.Message}",
            Attempts = attempts,
            FailedAt = time.GetUtcNow(),
        };
    }

    private async Task<ConnectionConfig?> LoadConfigAsync(ChatMessage message)
    {
        try
        {
            return await grains.GetGrain<IInstanceGrain>(message.InstanceId).GetConnectionConfigAsync();
        }
        catch (Grains.Instances.InstanceNotFoundException exception)
        {
            Log.NoInstance(logger, message.InstanceId, message.MessageId, exception.Message);
            return null;
        }
    }

    private async Task AcknowledgeAsync(List<StreamEntry<ChatMessage>> batch)
    {
        var subscription = await _subscribed.Task; // an entry can arrive before SubscribeAsync has returned
        for (var i = batch.Count - 1; i >= 0; i--)
        {
            try
            {
                await subscription.AcknowledgeAsync(batch[i].StreamId, batch[i].EntryId);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Delivered again later; the reply's client id keeps it from being answered twice.
                Log.AcknowledgeFailed(logger, exception, batch[i].Item.InstanceId, batch[i].EntryId);
            }
        }
    }

    private void Release(List<StreamEntry<ChatMessage>> entries)
    {
        foreach (var entry in entries)
        {
            if (_held.TryRemove((entry.StreamId, entry.EntryId), out _))
            {
                _room.Release();
            }
        }
    }

    private Task IdleAsync()
    {
        lock (_lanes)
        {
            if (_running == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
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
        ApiKey = config.Credentials.TryGetValue(ApiKeyCredential, out var key) ? key : null,
        Shape = Enum.TryParse<AgnoShape>(agent.Shape, ignoreCase: true, out var shape) ? shape : AgnoShape.AgentOs,
        Stream = agent.Stream,
        Timeout = TimeSpan.FromSeconds(Math.Clamp(agent.TimeoutSeconds, 1, 600)),
        Model = agent.Model,
        SystemPrompt = agent.SystemPrompt,
    };

    /// <summary>An agent's reply and the agent and session ids it is sent under.</summary>
    private sealed record Answer(AgentReply Reply, string AgentId, string SessionId);

    /// <summary>The entries of one chat not yet answered, in arrival order.</summary>
    private sealed class ChatLane
    {
        public Queue<StreamEntry<ChatMessage>> Pending { get; } = new();

        /// <summary>When each pending entry arrived (same order as <see cref="Pending"/>).</summary>
        public Queue<DateTimeOffset> Arrivals { get; } = new();

        public DateTimeOffset LastArrival { get; set; }

        /// <summary>Its runner was started; a lane lives in the lane table exactly as long as its runner runs.</summary>
        public bool Started { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Agent call for {InstanceId}/{ChatId} message {MessageId} failed (call {Attempt} of {MaxAttempts}); next call in {Delay}: {Error}")]
        public static partial void CallFailed(ILogger logger, string instanceId, string chatId, string messageId, int attempt, int maxAttempts, TimeSpan delay, string error);

        [LoggerMessage(Level = LogLevel.Error, Message = "Agent call for {InstanceId}/{ChatId} message {MessageId} given up after {Attempts} call(s) ({Reason}); dead letter {DeadLetterId}")]
        public static partial void DeadLettered(ILogger logger, string instanceId, string chatId, string messageId, long deadLetterId, int attempts, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "No agent call for {InstanceId}/{MessageId}: {Reason}")]
        public static partial void NoInstance(ILogger logger, string instanceId, string messageId, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Acknowledging inbound entry {EntryId} of {InstanceId} failed; it will be delivered again and not answered twice")]
        public static partial void AcknowledgeFailed(ILogger logger, Exception exception, string instanceId, string entryId);

        [LoggerMessage(Level = LogLevel.Error, Message = "Agent lane of {InstanceId}/{ChatId} failed; its entries will be delivered again")]
        public static partial void LaneFailed(ILogger logger, Exception exception, string instanceId, string chatId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Agent bridge stopped with {Count} entries unfinished; they will be delivered again")]
        public static partial void CallsAbandoned(ILogger logger, int count);
    }
}
