using Messengers.Abstractions.Messages;
using Orleans;

namespace Messengers.Abstractions.Providers;

/// <summary>Input pushed to a connection from outside, handed to it by the instance's ProviderClientGrain.</summary>
[GenerateSerializer, Immutable]
public abstract record ProviderInbound;

/// <summary>
/// A web-chat visitor's message (already validated and rate-limited by the route). <paramref name="ClientMessageId"/>,
/// when the page sends one, makes a retried post (a silo that stopped before it answered) the same message.
/// </summary>
[GenerateSerializer, Immutable, Alias("messengers.inbound.VisitorPost")]
public sealed record VisitorPost(string VisitorId, string Text, MediaRef? Media = null, string? ClientMessageId = null) : ProviderInbound;

/// <summary>
/// A delivery to a provider's webhook: the raw body and the headers the provider authenticates it with (names
/// lower-case). The connection checks the authentication itself, so no secret leaves the grain.
/// </summary>
[GenerateSerializer, Immutable, Alias("messengers.inbound.WebhookDelivery")]
public sealed record WebhookDelivery(IReadOnlyDictionary<string, string> Headers, byte[] Body) : ProviderInbound;

/// <summary>What became of pushed input.</summary>
public enum InboundOutcome
{
    /// <summary>Stored (or a redelivery of something stored already); the sender may be told "OK".</summary>
    Accepted,

    /// <summary>The sender did not prove who it is (missing credentials).</summary>
    Unauthenticated,

    /// <summary>The sender's credentials are wrong.</summary>
    Forbidden,

    /// <summary>The body is not what this provider delivers.</summary>
    Invalid,

    /// <summary>Accepted but not stored right now (a download failed): the sender should deliver it again later.</summary>
    RetryLater,
}

/// <summary>The outcome of pushed input: the stored message's id and time when one was stored, or why not.</summary>
[GenerateSerializer, Immutable, Alias("messengers.InboundResult")]
public sealed record InboundResult(InboundOutcome Outcome, string? MessageId = null, DateTimeOffset? Timestamp = null, string? Detail = null)
{
    public static InboundResult Stored(string messageId, DateTimeOffset timestamp) => new(InboundOutcome.Accepted, messageId, timestamp);

    public static InboundResult Ignored { get; } = new(InboundOutcome.Accepted);
}
