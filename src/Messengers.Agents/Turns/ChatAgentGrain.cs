using Messengers.Abstractions;
using Messengers.Abstractions.Agents;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;

using Messengers.Data.DeadLetters;
using Messengers.Data.Messages;
using Messengers.Webhooks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Messengers.Agents.Turns;

/// <summary>
/// The agent turn of one chat (key <c>{instanceId}/{chatId}</c>), fed by the chat's inbound stream (implicit
/// subscription). A message is queued and the turn runs in a grain timer that interleaves with new deliveries, so a
/// slow agent holds up neither the stream nor other chats: with <see cref="AgentSettings.DebounceSeconds"/> the turn
/// waits until the user has been quiet (at most <see cref="AgentTurns.MaxDebounceFactor"/> times the debounce after
/// its first message) and answers everything since at once; a failed call is retried with backoff while later
/// messages wait; after <see cref="AgentBridgeOptions.MaxAttempts"/> calls, or at once for a failure retrying cannot
/// fix, the turn is dead-lettered (with an <c>agent.failed</c> webhook event).
/// </summary>
/// <remarks>
/// Exactly one reply per turn: the reply's client id is "reply-" + the turn's first message id and the chat grain
/// sends a client id once. Crash safety: the turn's messages stay in the message outbox until the turn is done
/// (answered, dead-lettered or not for the agent), so a restart replays them into this grain; whatever the turn must
/// remember beyond its messages (which messages form it, its failed calls, a reply not sent yet) is in persisted
/// state, written only when there is such a thing to remember.
/// </remarks>
[ImplicitStreamSubscription(MessageStreams.Inbound)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The cancellation source is disposed in OnDeactivateAsync.")]
public sealed partial class ChatAgentGrain(
    [PersistentState(ChatAgentGrain.StateName, StorageNames.Grains)] IPersistentState<ChatAgentState> state,
    AgentBackends backends,
    MessengerProviders providers,
    IAgentDeadLetterStore deadLetters,
    PublishedMarks publishedMarks,
    AgentCallLimiter limiter,
    IMediaStore media,
    WebhookEventWriter webhooks,
    IOptions<AgentBridgeOptions> options,
    IOptions<AgentBackendOptions> backendOptions,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<ChatAgentGrain> logger) : Grain, IChatAgentGrain, IStreamSubscriptionObserver
{
    public const string StateName = "agentTurn";

    private const int HistoryTurns = 20;

    /// <summary>How many answered message ids are remembered, so that a replayed message is not answered again.</summary>
    private const int AnsweredWindow = 256;

    private readonly AgentBridgeOptions _options = options.Value;
    private readonly HashSet<string> _answered = new(StringComparer.Ordinal);
    private readonly Queue<string> _answeredOrder = new();
    private readonly CancellationTokenSource _stopping = new();
    private IGrainTimer? _timer;
    private Task _running = Task.CompletedTask;
    private readonly WriteChain _writes = new();
    private bool _stateWritten;
    private CancellationTokenRegistration _hostStopping;

    /// <summary>Whether a human has taken the chat over: read from the chat once, then kept up to date by it.</summary>
    private bool? _paused;

    /// <summary>The instance's debounce as last read; a new message is scheduled with it.</summary>
    private TimeSpan _debounce;

    // The key and the references are worked out once per activation: every turn uses them several times.
    private (string InstanceId, string ChatId)? _key;
    private IChatSessionGrain? _chat;
    private IInstanceGrain? _instance;

    private (string InstanceId, string ChatId) Key => _key ??= ChatKey.Parse(this.GetPrimaryKeyString());

    private string InstanceId => Key.InstanceId;

    private string ChatId => Key.ChatId;

    private IChatSessionGrain Chat => _chat ??= GrainFactory.GetGrain<IChatSessionGrain>(this.GetPrimaryKeyString());

    private IInstanceGrain Instance => _instance ??= GrainFactory.GetGrain<IInstanceGrain>(InstanceId);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _timer = this.RegisterGrainTimer(RunAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = true });
        _stateWritten = state.RecordExists;
        // A turn runs in a timer tick, which is a request: a stopping silo deactivates this grain only once the tick
        // is done, so OnDeactivateAsync cannot cut a slow call short. The call learns of the stop from the host
        // instead: it gets ShutdownGrace, then is cancelled (its messages, still in the outbox, are answered after
        // the next start).
        _hostStopping = lifetime.ApplicationStopping.Register(() => _stopping.CancelAfter(_options.ShutdownGrace));
        if (!state.State.IsIdle)
        {
            Schedule(); // a turn left by the previous activation (a restart, a silo that died)
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await _hostStopping.DisposeAsync();
        _timer?.Dispose();
        try
        {
            // A call in flight may finish within the grace; otherwise it is cancelled and its messages, still in the
            // outbox, are answered after the next start.
            await _running.WaitAsync(_options.ShutdownGrace, time, cancellationToken);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            Log.CallAbandoned(logger, InstanceId, ChatId, state.State.Queue.Count);
        }
        finally
        {
            await _stopping.CancelAsync();
            _stopping.Dispose();
        }

        await _writes.Last;
    }

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        await handleFactory.Create<ChatMessage>().ResumeAsync((message, _) => AcceptAsync(message));
    }

    public Task<int> GetPendingCountAsync() => Task.FromResult(state.State.Queue.Count);

    public Task AgentPausedChangedAsync(bool paused)
    {
        _paused = paused;
        return Task.CompletedTask;
    }

    public async Task<bool> RetryDeadLetterAsync(long deadLetterId)
    {
        var deadLetter = await deadLetters.GetAsync(InstanceId, deadLetterId)
            ?? throw new KeyNotFoundException($"Instance '{InstanceId}' has no agent dead letter {deadLetterId}.");
        var config = await Instance.GetAgentConfigAsync();
        var turn = AgentTurns.TurnOf(deadLetter);
        try
        {
            var answer = await AskAsync(turn, deadLetter.MessageIds, config, _stopping.Token);
            await SendReplyAsync(turn[0], answer, config);
            await deadLetters.ResolveAsync(deadLetter.InstanceId, deadLetter.Id, time.GetUtcNow());
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            await deadLetters.RecordAsync(DeadLetterOf(turn, deadLetter.MessageIds, config, exception, deadLetter.Attempts + 1));
            return false;
        }
    }

    /// <summary>A stored incoming message of the chat (a replay after a restart included).</summary>
    private async Task AcceptAsync(ChatMessage message)
    {
        if (_answered.Contains(message.MessageId) || state.State.Queue.Any(q => q.Message.MessageId == message.MessageId))
        {
            return; // answered already, or waiting: a replay
        }

        if (message.IsFromMe || !AgentChatFilter.IsTurn(message))
        {
            // Own messages may hand the chat to a human and back; reactions are no turn. Neither is answered.
            if (message.IsFromMe)
            {
                await ApplyKeywordAsync(message);
            }

            publishedMarks.Add(message.InstanceId, message.MessageId);
            return;
        }

        state.State.Queue.Add(new QueuedMessage(message, time.GetUtcNow()));
        if (state.State.Queue.Count > 1)
        {
            await SaveAsync(); // more than one message waits: which of them a turn takes must survive a crash
        }

        Schedule();
    }

    /// <summary>Arms the timer for when the next turn is due (now, after the debounce, or at the retry time).</summary>
    private void Schedule()
    {
        if (!_running.IsCompleted || state.State.IsIdle)
        {
            return; // the running turn goes on with the queue when it is done
        }

        var now = time.GetUtcNow();
        var due = state.State.NextAttemptAt ?? now;
        if (_debounce > TimeSpan.Zero && state.State.TurnSize == 0)
        {
            var queue = state.State.Queue;
            var debounced = AgentTurns.DebounceDue(queue[0].ArrivedAt, queue[^1].ArrivedAt, _debounce);
            due = debounced > due ? debounced : due;
        }

        var wait = due - now;
        _timer?.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private Task RunAsync(CancellationToken cancellationToken)
    {
        if (!_running.IsCompleted)
        {
            return Task.CompletedTask;
        }

        _running = RunTurnsAsync();
        return _running;
    }

    /// <summary>Answers turns until the queue is empty or the next turn must wait (debounce, retry).</summary>
    private async Task RunTurnsAsync()
    {
        try
        {
            while (!state.State.IsIdle && !_stopping.IsCancellationRequested && await RunNextTurnAsync())
            {
            }
        }
        catch (Exception exception) when (!_stopping.IsCancellationRequested)
        {
            // Not an agent failure (those are handled per turn): storage or the runtime failed. The messages stay
            // queued and in the outbox; try again after the retry delay.
            Log.TurnFailed(logger, exception, InstanceId, ChatId);
            state.State.NextAttemptAt = time.GetUtcNow() + _options.RetryDelay;
        }
        finally
        {
            _running = Task.CompletedTask;
        }

        Schedule();
    }

    /// <summary>Runs the turn at the head of the queue; false when it must wait (debounce, a retry not due yet) for the timer.</summary>
    private async Task<bool> RunNextTurnAsync()
    {
        AgentConfig config;
        try
        {
            config = await Instance.GetAgentConfigAsync();
        }
        catch (InstanceNotFoundException)
        {
            Log.NoInstance(logger, InstanceId, ChatId, state.State.Queue.Count);
            await CompleteAsync(state.State.Queue.Count); // the instance is gone: nothing to answer
            return true;
        }

        var s = state.State;
        var now = time.GetUtcNow();
        _debounce = TimeSpan.FromSeconds(config.Agent.DebounceSeconds);
        if (s.NextAttemptAt is { } retryAt && retryAt > now)
        {
            return false; // woken early (a new message): the retry keeps its time
        }

        s.NextAttemptAt = null;
        if (s.TurnSize == 0)
        {
            if (_debounce > TimeSpan.Zero && AgentTurns.DebounceDue(s.Queue[0].ArrivedAt, s.Queue[^1].ArrivedAt, _debounce) > now)
            {
                return false;
            }

            s.TurnSize = _debounce > TimeSpan.Zero ? s.Queue.Count : 1;
            if (s.TurnSize > 1 || s.Queue.Count > 1)
            {
                await SaveAsync();
            }
        }

        var turn = s.Queue.Take(s.TurnSize).Select(q => q.Message).ToList();
        var ids = turn.Select(m => m.MessageId).ToList();
        if (!AgentChatFilter.Answers(config.Agent, turn[0]) || !backends.TryGet(config.Agent.Backend, out _) || await IsPausedAsync())
        {
            await CompleteAsync(s.TurnSize);
            return true;
        }

        Exception failure;
        await limiter.WaitAsync(_stopping.Token);
        try
        {
            s.Answer ??= await AskAsync(turn, ids, config, _stopping.Token);
            await SendReplyAsync(turn[0], s.Answer, config);
            await CompleteAsync(s.TurnSize);
            return true;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception exception)
        {
            failure = exception;
            limiter.CountFailure();
        }
        finally
        {
            limiter.Release();
        }

        s.Attempts++;
        if (!AgentTurns.IsWorthRetrying(failure) || s.Attempts >= _options.MaxAttempts)
        {
            await DeadLetterAsync(turn, ids, config, failure, s.Attempts);
            await CompleteAsync(s.TurnSize);
            return true;
        }

#pragma warning disable CA5394 // jitter needs no cryptographic randomness
        var delay = Reliability.RetryDelays.Backoff(s.Attempts, _options.RetryDelay, _options.MaxRetryDelay, Random.Shared.NextDouble());
#pragma warning restore CA5394
        s.NextAttemptAt = time.GetUtcNow() + delay;
        Log.CallFailed(logger, InstanceId, ChatId, turn[0].MessageId, s.Attempts, _options.MaxAttempts, delay, failure.Message);
        await SaveAsync();
        return false;
    }

    /// <summary>The first <paramref name="count"/> queued messages are done with: they leave the queue and the outbox.</summary>
    private async Task CompleteAsync(int count)
    {
        var s = state.State;
        foreach (var done in s.Queue.Take(count))
        {
            publishedMarks.Add(done.Message.InstanceId, done.Message.MessageId);
            RememberAnswered(done.Message.MessageId);
        }

        s.Queue.RemoveRange(0, count);
        s.TurnSize = 0;
        s.Attempts = 0;
        s.NextAttemptAt = null;
        s.Answer = null;
        if (_stateWritten || s.Queue.Count > 1)
        {
            await SaveAsync();
        }
    }

    private async Task<bool> IsPausedAsync()
    {
        if (_paused is null)
        {
            var paused = await Chat.IsAgentPausedAsync();
            _paused ??= paused; // unless the chat told of a change while the answer was on its way
        }

        return _paused.Value;
    }

    private void RememberAnswered(string messageId)
    {
        if (_answered.Add(messageId))
        {
            _answeredOrder.Enqueue(messageId);
            while (_answeredOrder.Count > AnsweredWindow)
            {
                _answered.Remove(_answeredOrder.Dequeue());
            }
        }
    }

    /// <summary>The operator writing from the account itself can hand the chat to a human and back.</summary>
    private async Task ApplyKeywordAsync(ChatMessage message)
    {
        AgentConfig config;
        try
        {
            config = await Instance.GetAgentConfigAsync();
        }
        catch (InstanceNotFoundException)
        {
            return;
        }

        var body = message.Body.Trim();
        var agent = config.Agent;
        if (string.Equals(body, agent.PauseKeyword, StringComparison.OrdinalIgnoreCase) || string.Equals(body, agent.ResumeKeyword, StringComparison.OrdinalIgnoreCase))
        {
            await Chat.SetAgentPausedAsync(string.Equals(body, agent.PauseKeyword, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>One agent call for a turn; typing is shown only while the agent is actually working.</summary>
    private async Task<TurnAnswer> AskAsync(List<ChatMessage> messages, IReadOnlyList<string> messageIds, AgentConfig config, CancellationToken cancellationToken)
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
            var recent = await Chat.GetRecentAsync(HistoryTurns + messageIds.Count);
            history = recent
                .Where(m => AgentChatFilter.IsTurn(m) && !messageIds.Contains(m.MessageId, StringComparer.Ordinal) && !string.IsNullOrEmpty(m.Body))
                .TakeLast(HistoryTurns)
                .Select(m => new AgentHistoryTurn(m.IsFromMe ? AgentRole.Assistant : AgentRole.User, m.Body))
                .ToList();
        }

        var agentId = agent.AgentId ?? agent.Backend;
        var sessionId = AgentSessionId.For(agentId, first.ChatId);
        var (attachments, omitted) = await AgentMediaLoader.LoadAsync(media, messages, backendOptions.Value.MaxAttachmentBytes, cancellationToken);
        var request = new AgentRequest(
            first.InstanceId,
            first.ChatId,
            agentId,
            sessionId,
            agent.UserId ?? first.From ?? first.ChatId,
            AgentTurns.TurnText(messages),
            attachments,
            history,
            AgentTurns.Endpoint(agent, config.AgentApiKey))
        {
            MessageId = first.MessageId,
            OmittedMedia = omitted,
        };

        // A backend that answers at once (echo, a flow) replies without the indicator flickering on and off.
        var running = backend.RunAsync(request, cancellationToken);
        if (running.IsCompleted)
        {
            return AnswerOf(await running, agentId, sessionId);
        }

        await SetTypingAsync(true);
        try
        {
            return AnswerOf(await running, agentId, sessionId);
        }
        catch
        {
            await SetTypingAsync(false);
            throw;
        }
    }

    private static TurnAnswer AnswerOf(AgentReply reply, string agentId, string sessionId)
        => new(reply.IsEmpty ? "" : reply.Urls.Count == 0 ? reply.Text : string.Join("\n", [reply.Text, .. reply.Urls]), agentId, sessionId);

    /// <summary>Sends the answer to the chat, split to the provider's limit; each part has its own stable client id.</summary>
    private async Task SendReplyAsync(ChatMessage first, TurnAnswer answer, AgentConfig config)
    {
        if (string.IsNullOrWhiteSpace(answer.Text))
        {
            await SetTypingAsync(false);
            return;
        }

        var limit = providers.TryGet(config.Provider, out var provider) ? provider.MaxTextLength : 4096;
        var parts = ReplySplitter.Split(answer.Text, limit);
        for (var i = 0; i < parts.Count; i++)
        {
            await Chat.SendAsync(new OutgoingMessage
            {
                ChatId = first.ChatId,
                Text = parts[i],
                ClientMessageId = i == 0 ? "reply-" + first.MessageId : $"reply-{first.MessageId}-{i}",
                AgentId = answer.AgentId,
                SessionId = answer.SessionId,
            });
        }
    }

    private async Task SetTypingAsync(bool typing)
    {
        try
        {
            await GrainFactory.GetGrain<IProviderClientGrain>(InstanceId).ExecuteAsync(new ProviderCommands.SetTyping(ChatId, typing));
        }
        catch (Exception exception) when (exception is CapabilityNotSupportedException or InstanceNotReadyException)
        {
            // typing is a courtesy; providers without it simply skip it
        }
    }

    private async Task DeadLetterAsync(List<ChatMessage> messages, IReadOnlyList<string> messageIds, AgentConfig config, Exception failure, int attempts)
    {
        var deadLetter = await deadLetters.RecordAsync(DeadLetterOf(messages, messageIds, config, failure, attempts));
        Log.DeadLettered(logger, deadLetter.InstanceId, deadLetter.ChatId, deadLetter.MessageId, deadLetter.Id, attempts, deadLetter.Reason);
        await webhooks.WriteAsync([WebhookEvent.AgentFailed(deadLetter.InstanceId, deadLetter.MessageId, deadLetter.ChatId, deadLetter.AgentId, deadLetter.Error, deadLetter.FailedAt)]);
    }

    private AgentDeadLetter DeadLetterOf(List<ChatMessage> messages, IReadOnlyList<string> messageIds, AgentConfig config, Exception failure, int attempts)
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
            Text = AgentTurns.TurnText(messages),
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

    /// <summary>A delivery and the running turn may both save: writes go one after another; an idle turn clears its state.</summary>
    private Task SaveAsync()
    {
        _stateWritten = !state.State.IsIdle;
        return _writes.Then(() => state.State.IsIdle ? state.ClearStateAsync() : state.WriteStateAsync());
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Agent call for {InstanceId}/{ChatId} message {MessageId} failed (call {Attempt} of {MaxAttempts}); next call in {Delay}: {Error}")]
        public static partial void CallFailed(ILogger logger, string instanceId, string chatId, string messageId, int attempt, int maxAttempts, TimeSpan delay, string error);

        [LoggerMessage(Level = LogLevel.Error, Message = "Agent call for {InstanceId}/{ChatId} message {MessageId} given up after {Attempts} call(s) ({Reason}); dead letter {DeadLetterId}")]
        public static partial void DeadLettered(ILogger logger, string instanceId, string chatId, string messageId, long deadLetterId, int attempts, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "No agent turn for {InstanceId}/{ChatId}: the instance is gone ({Count} message(s) dropped)")]
        public static partial void NoInstance(ILogger logger, string instanceId, string chatId, int count);

        [LoggerMessage(Level = LogLevel.Error, Message = "Agent turn of {InstanceId}/{ChatId} failed; it is tried again shortly")]
        public static partial void TurnFailed(ILogger logger, Exception exception, string instanceId, string chatId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Agent turn of {InstanceId}/{ChatId} abandoned at deactivation with {Count} message(s) waiting; they are answered after the next start")]
        public static partial void CallAbandoned(ILogger logger, string instanceId, string chatId, int count);
    }
}
