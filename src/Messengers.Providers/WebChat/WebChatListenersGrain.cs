using Messengers.Abstractions.WebChat;
using Microsoft.Extensions.Logging;

namespace Messengers.Providers.WebChat;

/// <summary>
/// The listening silos of one web-chat instance and the silo publishing its events (see
/// <see cref="IWebChatListenersGrain"/>). State is in memory: after a lost activation the silos' next renewals (within
/// <see cref="IWebChatListenersGrain.RenewalPeriod"/>) register them again, and a remote stream may miss events in
/// between. The renewals also keep the activation alive while anyone listens or publishes.
/// </summary>
public sealed partial class WebChatListenersGrain(TimeProvider time, ILogger<WebChatListenersGrain> logger) : Grain, IWebChatListenersGrain
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
        return Task.CompletedTask;
    }

    public async Task ListenAsync(IWebChatRelayObserver listener)
    {
        var added = _listeners.TryAdd(listener, default);
        _listeners[listener] = time.GetUtcNow() + IWebChatListenersGrain.Lifetime;
        if (DropExpired() | added)
        {
            await PushAsync();
        }
    }

    public async Task UnlistenAsync(IWebChatRelayObserver listener)
    {
        if (_listeners.Remove(listener) | DropExpired())
        {
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

        return Current();
    }

    public Task UnwatchAsync(IWebChatRelayObserver publisher)
    {
        _publishers.Remove(publisher);
        return Task.CompletedTask;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Web chat {InstanceId}: a publishing silo was not told of its listeners ({Reason}); it reads them again at its renewal")]
    private static partial void LogPushFailed(ILogger logger, string instanceId, string reason);
}
