using Orleans;

namespace Messengers.Abstractions.WebChat;

/// <summary>
/// The silos with open visitor streams of one web-chat instance. <see cref="Version"/> grows with every change (a new
/// activation of the listeners grain starts above any earlier one), so a watcher keeps the newest of a push and a
/// reply that crossed.
/// </summary>
[GenerateSerializer, Immutable, Alias("messengers.WebChatListeners")]
public sealed record WebChatListeners(long Version, IReadOnlyList<IWebChatRelayObserver> Silos);
