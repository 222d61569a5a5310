using System.Collections.Concurrent;
using System.Threading.Channels;
using Messengers.Abstractions.WebChat;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using Orleans.Runtime;

namespace Messengers.Providers.WebChat;

/// <summary>
/// The web-chat event streams of this silo and their link to the rest of the cluster. Visitors' open streams (tabs)
/// are kept by (instance, visitor); each tab gets every event of its visitor once. Slow readers lose nothing up to a
/// bounded buffer, then the oldest events.
/// <para>
/// An instance's connection publishes on whichever silo runs it. Events go straight to the tabs open here; they are
/// forwarded (queued per listening silo and sent in order, batched, without the publisher waiting: see
/// <see cref="WebChatForwarder"/>) only to the other silos that have streams of that instance open,
/// which the instance's <see cref="IWebChatListenersGrain"/> pushes to the publisher (<see cref="WatchAsync"/>). With all
/// streams on the publisher's silo — one silo, the common case — publishing makes no call. A silo registers as a
/// listener when its first stream of an instance opens, and that waits until the publisher knows, so a reply produced
/// right after a stream opened reaches it; it unregisters when its last stream of the instance closes. Registrations
/// are renewed every <see cref="IWebChatListenersGrain.RenewalPeriod"/>.
/// </para>
/// </summary>
public sealed partial class WebChatHub(IGrainFactory grains, TimeProvider time, ILogger<WebChatHub> logger) : BackgroundService, IWebChatRelayObserver, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly ConcurrentDictionary<(string InstanceId, string VisitorId), ConcurrentDictionary<Guid, Channel<WebChatEvent>>> _visitors = new();

    /// <summary>Instances this silo listens to or publishes for; changed under <see cref="_gate"/>, read without it by <see cref="Publish"/>.</summary>
    private readonly ConcurrentDictionary<string, InstanceRelay> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IWebChatRelayObserver, WebChatForwarder> _forwarders = new();
    private readonly Lock _gate = new();
    private IWebChatRelayObserver? _self;
    private bool _stopped;

    public int ConnectionCount => _visitors.Values.Sum(v => v.Count);

    /// <summary>How many other silos this silo forwards the instance's events to (diagnostics and tests).</summary>
    public int RemoteListenerCount(string instanceId) => _instances.TryGetValue(instanceId, out var relay) ? relay.Remote.Length : 0;

    /// <summary>
    /// Opens a stream of events for a visitor; dispose the returned handle to close it. Returns once the instance's
    /// publisher, wherever it runs, forwards to this silo (or registering failed: then it is retried at the renewal,
    /// and meanwhile the stream gets what is published on this silo).
    /// </summary>
    public async Task<WebChatSubscription> SubscribeAsync(string instanceId, string visitorId, CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<WebChatEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var id = Guid.NewGuid();
        var key = (instanceId, visitorId);
        _visitors.GetOrAdd(key, _ => new()).TryAdd(id, channel);
        var subscription = new WebChatSubscription(channel.Reader, () =>
        {
            if (_visitors.TryGetValue(key, out var tabs))
            {
                tabs.TryRemove(id, out _);
                if (tabs.IsEmpty)
                {
                    _visitors.TryRemove(new KeyValuePair<(string, string), ConcurrentDictionary<Guid, Channel<WebChatEvent>>>(key, tabs));
                }
            }

            channel.Writer.TryComplete();
            StreamClosed(instanceId);
        });

        Task registered;
        lock (_gate)
        {
            var relay = _instances.GetOrAdd(instanceId, _ => new InstanceRelay());
            if (relay.Streams++ == 0)
            {
                relay.Registered = relay.Calls.Then(() => ListenAsync(instanceId));
            }

            registered = relay.Registered;
        }

        try
        {
            await registered.WaitAsync(cancellationToken);
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        return subscription;
    }

    /// <summary>Delivers events of a visitor to its tabs here and to the other silos listening to the instance.</summary>
    public void Publish(string instanceId, string visitorId, params ReadOnlySpan<WebChatEvent> events)
    {
        Deliver(instanceId, visitorId, events);
        if (_instances.TryGetValue(instanceId, out var relay) && relay.Remote is { Length: > 0 } remote)
        {
            var envelope = new WebChatEnvelope(instanceId, visitorId, events.ToArray());
            foreach (var silo in remote)
            {
                Forward(silo, envelope);
            }
        }
    }

    /// <summary>Queues events for a remote silo; its forwarder sends them in order without the publisher waiting.</summary>
    private void Forward(IWebChatRelayObserver silo, WebChatEnvelope envelope)
    {
        while (true)
        {
            var forwarder = _forwarders.GetOrAdd(silo, s => new WebChatForwarder(s, time, logger, retired => _forwarders.TryRemove(KeyValuePair.Create(retired.Silo, retired))));
            if (forwarder.TryPost(envelope))
            {
                return;
            }

            // it retired (idle) just now
            _forwarders.TryRemove(KeyValuePair.Create(silo, forwarder));
        }
    }

    /// <summary>
    /// Called by the instance's connection as it starts on this silo: from now on this silo is told which silos listen
    /// to the instance. A failure is logged and retried at the renewal (remote streams miss events until then).
    /// </summary>
    public async Task WatchAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        Task watched;
        lock (_gate)
        {
            var relay = _instances.GetOrAdd(instanceId, _ => new InstanceRelay());
            relay.Publishers++;
            watched = relay.Calls.Then(() => RewatchAsync(instanceId));
        }

        await watched.WaitAsync(cancellationToken);
    }

    /// <summary>Called by the instance's connection as it stops: this silo no longer forwards the instance's events.</summary>
    public void Unwatch(string instanceId)
    {
        lock (_gate)
        {
            if (!_instances.TryGetValue(instanceId, out var relay) || relay.Publishers == 0)
            {
                return;
            }

            if (--relay.Publishers == 0)
            {
                relay.Remote = [];
                if (!_stopped)
                {
                    var self = Self();
                    _ = relay.Calls.Then(() => grains.GetGrain<IWebChatListenersGrain>(instanceId).UnwatchAsync(self));
                }
            }
        }
    }

    Task IWebChatRelayObserver.OnEventsAsync(WebChatEnvelope[] batch)
    {
        foreach (var envelope in batch)
        {
            Deliver(envelope.InstanceId, envelope.VisitorId, envelope.Events);
        }

        return Task.CompletedTask;
    }

    Task IWebChatRelayObserver.ListenersChangedAsync(string instanceId, WebChatListeners listeners)
    {
        Apply(instanceId, listeners);
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await Task.Delay(IWebChatListenersGrain.RenewalPeriod, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var renewals = new List<Task>();
            lock (_gate)
            {
                foreach (var (instanceId, relay) in _instances)
                {
                    if (relay.Streams > 0)
                    {
                        renewals.Add(relay.Calls.Then(() => ListenAsync(instanceId)));
                    }

                    if (relay.Publishers > 0)
                    {
                        renewals.Add(relay.Calls.Then(() => RewatchAsync(instanceId)));
                    }

                    if (relay.Streams == 0 && relay.Publishers == 0 && relay.Calls.Last.IsCompleted)
                    {
                        _instances.TryRemove(instanceId, out _);
                    }
                }
            }

            await Task.WhenAll(renewals);
        }
    }

    /// <summary>
    /// Withdraws this silo's registrations when the silo stops, after its connections have moved to other silos
    /// (<c>SiloConnections</c> stops a stage earlier) and before its grains deactivate: until then a connection still
    /// publishing here must keep forwarding to the streams other silos hold, and a stream reopened elsewhere must still
    /// reach it.
    /// </summary>
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(WebChatHub), ServiceLifecycleStage.Active, _ => Task.CompletedTask, ReleaseAsync);
    }

    /// <summary>The silo stops: registrations are withdrawn (best effort; they expire anyway) and the reference deleted.</summary>
    private async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        IWebChatRelayObserver? self;
        List<(string InstanceId, InstanceRelay Relay)> instances;
        lock (_gate)
        {
            // Stop may be called twice (WebApplicationFactory stops a host by its lifetime and by its owner).
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            self = _self;
            instances = [.. _instances.Select(i => (i.Key, i.Value))];
        }

        var forwarders = _forwarders.Values.ToList();
        foreach (var forwarder in forwarders)
        {
            forwarder.Retire();
        }

        try
        {
            // What the connections published here before they moved still reaches the other silos' streams.
            await Task.WhenAll(forwarders.Select(f => f.Completion)).WaitAsync(TimeSpan.FromSeconds(2), time, cancellationToken);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            LogRegistrationFailed(logger, "(all)", "events queued for other silos were still being sent when the silo stopped");
        }

        if (self is null)
        {
            return;
        }

        foreach (var (instanceId, relay) in instances)
        {
            try
            {
                var listeners = grains.GetGrain<IWebChatListenersGrain>(instanceId);
                if (relay.Publishers > 0)
                {
                    await listeners.UnwatchAsync(self);
                }

                if (relay.Streams > 0)
                {
                    await listeners.UnlistenAsync(self).WaitAsync(TimeSpan.FromSeconds(2), time, cancellationToken);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogRegistrationFailed(logger, instanceId, exception.Message);
            }
        }

        grains.DeleteObjectReference<IWebChatRelayObserver>(self);
    }

    private void Deliver(string instanceId, string visitorId, ReadOnlySpan<WebChatEvent> events)
    {
        if (_visitors.TryGetValue((instanceId, visitorId), out var tabs))
        {
            foreach (var channel in tabs.Values)
            {
                foreach (var chatEvent in events)
                {
                    channel.Writer.TryWrite(chatEvent);
                }
            }
        }
    }

    private void StreamClosed(string instanceId)
    {
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var relay) && --relay.Streams == 0 && !_stopped)
            {
                var self = Self();
                relay.Registered = Task.CompletedTask;
                _ = relay.Calls.Then(() => UnlistenAsync(instanceId, self));
            }
        }
    }

    private async Task ListenAsync(string instanceId)
    {
        try
        {
            await grains.GetGrain<IWebChatListenersGrain>(instanceId).ListenAsync(Self());
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogRegistrationFailed(logger, instanceId, exception.Message);
        }
    }

    private async Task UnlistenAsync(string instanceId, IWebChatRelayObserver self)
    {
        try
        {
            await grains.GetGrain<IWebChatListenersGrain>(instanceId).UnlistenAsync(self);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // it expires by itself; meanwhile the publisher forwards events that find no stream here
            LogRegistrationFailed(logger, instanceId, exception.Message);
        }
    }

    private async Task RewatchAsync(string instanceId)
    {
        try
        {
            Apply(instanceId, await grains.GetGrain<IWebChatListenersGrain>(instanceId).WatchAsync(Self()));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogRegistrationFailed(logger, instanceId, exception.Message);
        }
    }

    /// <summary>Takes the newest list of listening silos of an instance this silo publishes for, leaving itself out (its tabs get events directly).</summary>
    private void Apply(string instanceId, WebChatListeners listeners)
    {
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var relay) && relay.Publishers > 0 && listeners.Version >= relay.Version)
            {
                var self = Self();
                relay.Version = listeners.Version;
                relay.Remote = [.. listeners.Silos.Where(silo => !silo.Equals(self))];
            }
        }
    }

    /// <summary>This silo's observer reference, created on first use (the hub may be used before its hosted service starts).</summary>
    private IWebChatRelayObserver Self()
    {
        if (Volatile.Read(ref _self) is { } self)
        {
            return self;
        }

        lock (_gate)
        {
            return _self ??= grains.CreateObjectReference<IWebChatRelayObserver>(this);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Web chat {InstanceId}: this silo could not (un)register its event streams with the cluster; it tries again at the next renewal: {Reason}")]
    private static partial void LogRegistrationFailed(ILogger logger, string instanceId, string reason);

    /// <summary>What this silo does for one instance: its open streams, whether its connection runs here, and the silos to forward to.</summary>
    private sealed class InstanceRelay
    {
        public int Streams;
        public int Publishers;
        public long Version;
        public volatile IWebChatRelayObserver[] Remote = [];
        public Task Registered = Task.CompletedTask;

        /// <summary>Calls to the listeners grain go one after another, so an unlisten never overtakes the listen before it.</summary>
        public CallChain Calls { get; } = new();
    }

    /// <summary>
    /// Runs calls one after another, each whatever the outcome of the one before, on the thread pool: the caller may be
    /// the connection inside its grain, whose scheduler must not run (or outlive) this silo-level work.
    /// </summary>
    private sealed class CallChain
    {
        private Task _last = Task.CompletedTask;

        public Task Last => _last;

        public Task Then(Func<Task> call)
        {
            _last = _last.ContinueWith(_ => call(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            return _last;
        }
    }
}
