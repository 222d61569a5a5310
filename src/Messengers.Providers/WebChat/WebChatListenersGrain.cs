using Messengers.Abstractions;
using Messengers.Abstractions.WebChat;
using Microsoft.Extensions.Logging;

namespace Messengers.Providers.WebChat;

/// <summary>
/// The listening silos of one web-chat instance and the silo publishing its events (see
/// <see cref="IWebChatListenersGrain"/>). Who listens and who publishes is stored whenever it changes (renewals only
/// extend times, in memory), so an activation that moved with a restarted or dead silo starts with the same lists and
/// no remote stream misses events while the silos' renewals come round. The renewals also keep the activation alive.
/// </summary>
public sealed partial class WebChatListenersGrain(
    [PersistentState("webchat-listeners", StorageNames.Grains)] IPersistentState<WebChatListenersState> state,
    TimeProvider time,
    ILogger<WebChatListenersGrain> logger) : Grain, IWebChatListenersGrain
{
    /// <summary>How long a change waits for a publisher to take it; one that does not is dropped and re-watches at its renewal.</summary>
    private static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(2);

    private readonly Dictionary<IWebChatRelayObserver, DateTimeOffset> _listeners = [];
    private readonly Dictionary<IWebChatRelayObserver, DateTimeOffset> _publishers = [];
    private long _version;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Versions of a new activation start above those of any earlier one (a change a tick apart at most), so a
        // publisher that kept an older activation's list takes the new one.
        _version = time.GetUtcNow().UtcTicks;
        var lifetime = time.GetUtcNow() + IWebChatListenersGrain.Lifetime; // those gone meanwhile expire unrenewed
        foreach (var listener in state.State.Listeners)
        {
            _listeners[listener] = lifetime;
        }

        foreach (var publisher in state.State.Publishers)
        {
            _publishers[publisher] = lifetime;
        }

        return Task.CompletedTask;
    }

    /// <summary>Stores who listens and publishes when that changed; a failed write only costs a moved activation its lists.</summary>
    private async Task SaveIfChangedAsync()
    {
        if (state.State.Listeners.Count == _listeners.Count && state.State.Publishers.Count == _publishers.Count
            && state.State.Listeners.All(_listeners.ContainsKey) && state.State.Publishers.All(_publishers.ContainsKey))
        {
            return;
        }

        state.State.Listeners = [.. _listeners.Keys];
        state.State.Publishers = [.. _publishers.Keys];
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogSaveFailed(logger, this.GetPrimaryKeyString(), exception.Message);
        }
    }

    public async Task ListenAsync(IWebChatRelayObserver listener)
    {
        var added = _listeners.TryAdd(listener, default);
        _listeners[listener] = time.GetUtcNow() + IWebChatListenersGrain.Lifetime;
        if (DropExpired() | added)
        {
            await SaveIfChangedAsync();
            await PushAsync();
        }
    }

    public async Task UnlistenAsync(IWebChatRelayObserver listener)
    {
        if (_listeners.Remove(listener) | DropExpired())
        {
            await SaveIfChangedAsync();
            await PushAsync();
        }
    }

    public async Task<WebChatListeners> WatchAsync(IWebChatRelayObserver publisher)
    {
        _publishers[publisher] = time.GetUtcNow() + IWebChatListenersGrain.Lifetime;
        if (DropExpired())
        {
            await PushAsync();
        }

        await SaveIfChangedAsync();
        return Current();
    }

    public async Task UnwatchAsync(IWebChatRelayObserver publisher)
    {
        _publishers.Remove(publisher);
        await SaveIfChangedAsync();
    }

    private WebChatListeners Current() => new(_version, [.. _listeners.Keys]);

    /// <summary>Drops registrations not renewed in time (their silo died); true when a listener went.</summary>
    private bool DropExpired()
    {
        var now = time.GetUtcNow();
        foreach (var (publisher, expires) in _publishers.ToList())
        {
            if (expires <= now)
            {
                _publishers.Remove(publisher);
            }
        }

        var dropped = false;
        foreach (var (listener, expires) in _listeners.ToList())
        {
            if (expires <= now)
            {
                dropped |= _listeners.Remove(listener);
            }
        }

        return dropped;
    }

    /// <summary>A new version of the listeners, told to every publisher at once; one that fails or is slow is dropped.</summary>
    private async Task PushAsync()
    {
        _version++;
        var listeners = Current();
        var publishers = _publishers.Keys.ToList();
        var pushes = publishers.Select(p => p.ListenersChangedAsync(this.GetPrimaryKeyString(), listeners).WaitAsync(PushTimeout, time)).ToList();
        try
        {
            await Task.WhenAll(pushes);
        }
        catch (Exception)
        {
            for (var i = 0; i < publishers.Count; i++)
            {
                if (!pushes[i].IsCompletedSuccessfully)
                {
                    _publishers.Remove(publishers[i]);
                    LogPushFailed(logger, this.GetPrimaryKeyString(), pushes[i].Exception?.GetBaseException().Message ?? "timed out");
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Web chat {InstanceId}: who listens could not be stored ({Reason}); an activation that moves may lose it until the renewals")]
    private static partial void LogSaveFailed(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Web chat {InstanceId}: a publishing silo was not told of its listeners ({Reason}); it reads them again at its renewal")]
    private static partial void LogPushFailed(ILogger logger, string instanceId, string reason);
}
