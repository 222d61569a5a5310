using Messengers.Abstractions.Messages;
using Orleans;

namespace Messengers.Abstractions.WebChat;

/// <summary>An event for one visitor's page: a message either way (with its media, if any), or typing.</summary>
[GenerateSerializer, Immutable, Alias("messengers.WebChatEvent")]
public sealed record WebChatEvent(string Kind, string? MessageId, string? Text, string? Direction, DateTimeOffset Timestamp, bool? Typing = null, MediaRef? Media = null);
