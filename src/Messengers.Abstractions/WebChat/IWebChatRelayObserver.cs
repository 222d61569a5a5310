using Orleans;

namespace Messengers.Abstractions.WebChat;

/// <summary>
/// A silo's web-chat hub, seen from other silos. As a listener (it has visitor streams of an instance open) it takes
/// the events that instance's connection publishes on another silo; as a publisher (the instance's connection runs
/// there) it is told which silos listen.
/// </summary>
public interface IWebChatRelayObserver : IGrainObserver
{
    /// <summary>
    /// Events for the streams open on this silo (none open: dropped), in the order they were published. Awaited, so a
    /// sender can keep that order: Orleans does not order separate calls, one-way or not.
    /// </summary>
    Task OnEventsAsync(WebChatEnvelope[] batch);

    /// <summary>The listening silos of an instance whose connection this silo runs. Awaited: a listener is registered once its publisher knows.</summary>
    Task ListenersChangedAsync(string instanceId, WebChatListeners listeners);
}
