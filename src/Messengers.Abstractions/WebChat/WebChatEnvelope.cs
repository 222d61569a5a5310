using Orleans;

namespace Messengers.Abstractions.WebChat;

/// <summary>Events of one visitor of one instance, on their way to another silo's streams.</summary>
[GenerateSerializer, Immutable, Alias("messengers.WebChatEnvelope")]
public sealed record WebChatEnvelope(string InstanceId, string VisitorId, WebChatEvent[] Events);
