using Messengers.Abstractions.WebChat;

namespace Messengers.Providers.WebChat;

/// <summary>Who listens to and who publishes an instance's web-chat events, kept so that a moved activation still knows.</summary>
[GenerateSerializer, Alias("messengers.WebChatListenersState")]
public sealed class WebChatListenersState
{
    [Id(0)] public List<IWebChatRelayObserver> Listeners { get; set; } = [];

    [Id(1)] public List<IWebChatRelayObserver> Publishers { get; set; } = [];
}
