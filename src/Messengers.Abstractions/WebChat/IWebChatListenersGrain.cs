using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.WebChat;

/// <summary>
/// Which silos have visitor streams of one web-chat instance open (key: instance id), pushed to the silo whose
/// connection publishes that instance's events, so it forwards them to those silos only — and to none, making no
/// call, when every stream is on its own silo. Listeners and watchers renew within <see cref="Lifetime"/>; one not
/// renewed (its silo died) is dropped. The lists live in memory: a lost activation is rebuilt by the next renewals.
/// </summary>
public interface IWebChatListenersGrain : IGrainWithStringKey
{
    /// <summary>How long a listener or watcher registration lasts without being renewed.</summary>
    static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    /// <summary>How often silos renew (a third of <see cref="Lifetime"/>); also the longest gap after a lost activation.</summary>
    static readonly TimeSpan RenewalPeriod = Lifetime / 3;

    /// <summary>Registers (or renews) a listening silo; returns once the publisher has been told of a new one.</summary>
    Task ListenAsync(IWebChatRelayObserver listener);

    Task UnlistenAsync(IWebChatRelayObserver listener);

    /// <summary>Registers (or renews) the publishing silo: the listeners now, and every change pushed until it unwatches.</summary>
    Task<WebChatListeners> WatchAsync(IWebChatRelayObserver publisher);

    [OneWay]
    Task UnwatchAsync(IWebChatRelayObserver publisher);
}
