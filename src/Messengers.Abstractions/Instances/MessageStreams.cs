namespace Messengers.Abstractions.Instances;

/// <summary>
/// The Orleans streams of the message path. Message streams are keyed by chat (<see cref="ChatKey"/>), so that every
/// chat's consumers (the agent turn, the webhook writer) receive its messages in order while chats run in parallel;
/// status streams are keyed by instance id.
/// </summary>
public static class MessageStreams
{
    /// <summary>The stream provider every silo registers (memory streams embedded, Redis Streams in production).</summary>
    public const string Provider = "messages";

    /// <summary>Stored incoming messages, key = chat key; item <see cref="Messages.ChatMessage"/>.</summary>
    public const string Inbound = "inbound";

    /// <summary>Stored outgoing messages, key = chat key; item <see cref="Messages.ChatMessage"/>.</summary>
    public const string Outbound = "outbound";

    /// <summary>Instance status changes, key = instance id; item <see cref="InstanceInfo"/>.</summary>
    public const string Status = "status";
}
