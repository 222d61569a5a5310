namespace Messengers.Data.Webhooks;

/// <summary>The event names a subscription can ask for; <c>*</c> asks for all.</summary>
public static class WebhookEventTypes
{
    public const string All = "*";
    public const string MessageReceived = "message.received";
    public const string MessageSent = "message.sent";
    public const string MessageAck = "message.ack";

    /// <summary>Someone reacted to a message (or removed the reaction): a stored message of type reaction (WAHA's name for it).</summary>
    public const string MessageReaction = "message.reaction";

    public const string InstanceStatus = "instance.status";
    public const string InstanceQr = "instance.qr";
    public const string AgentReply = "agent.reply";
    public const string AgentFailed = "agent.failed";

    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        All, MessageReceived, MessageSent, MessageAck, MessageReaction, InstanceStatus, InstanceQr, AgentReply, AgentFailed,
    };

    public static bool Matches(IReadOnlyList<string> subscribed, string eventType)
    {
        ArgumentNullException.ThrowIfNull(subscribed);
        foreach (var name in subscribed)
        {
            if (name == All || string.Equals(name, eventType, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Payload shapes: <c>envelope</c> (default) or the seeds' <c>flat</c> message payload.</summary>
public static class WebhookFormats
{
    public const string Envelope = "envelope";
    public const string Flat = "flat";

    public static bool IsKnown(string? format) => format is Envelope or Flat;
}

/// <summary>States of an outbox row.</summary>
public static class WebhookDeliveryStatus
{
    /// <summary>Not tried yet.</summary>
    public const string Pending = "pending";

    /// <summary>Tried and failed; waits for <see cref="WebhookDelivery.NextAttemptAt"/>. Still blocks the later events of its subscription.</summary>
    public const string Failed = "failed";

    public const string Delivered = "delivered";

    /// <summary>Gave up after the last attempt; the subscription's later events go on.</summary>
    public const string Dead = "dead";

    public static bool IsKnown(string? status) => status is Pending or Failed or Delivered or Dead;
}

/// <summary>
/// A webhook subscription with its secret and header values in clear (the store encrypts them at rest). It crosses
/// grain boundaries only inside a silo's webhook writer path; it is never returned by the API with its secret.
/// </summary>
[GenerateSerializer, Immutable, Alias("messengers.WebhookSubscription")]
public sealed record WebhookSubscription
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string InstanceId { get; init; }
    [Id(2)] public required string Url { get; init; }
    [Id(3)] public IReadOnlyList<string> Events { get; init; } = [WebhookEventTypes.All];
    [Id(4)] public required string Secret { get; init; }
    [Id(5)] public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    [Id(6)] public bool Enabled { get; init; } = true;
    [Id(7)] public string Format { get; init; } = WebhookFormats.Envelope;
    [Id(8)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Never prints the secret or header values.</summary>
    public override string ToString() => $"WebhookSubscription {Id} of {InstanceId}";
}

/// <summary>A partial update; null members stay as they are.</summary>
public sealed record WebhookSubscriptionPatch
{
    public string? Url { get; init; }
    public IReadOnlyList<string>? Events { get; init; }
    public bool? Enabled { get; init; }
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
    public string? Format { get; init; }
}

/// <summary>A new outbox row: one event for one subscription.</summary>
public sealed record WebhookOutboxEntry(string EventId, string SubscriptionId, string InstanceId, string EventType, string Payload);

/// <summary>One outbox row.</summary>
public sealed record WebhookDelivery
{
    public long Id { get; init; }
    public required string EventId { get; init; }
    public required string SubscriptionId { get; init; }
    public required string InstanceId { get; init; }
    public required string EventType { get; init; }
    public required string Payload { get; init; }
    public string Status { get; init; } = WebhookDeliveryStatus.Pending;
    public int Attempts { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public int? LastStatusCode { get; init; }
    public string? LastError { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DeliveredAt { get; init; }
}

/// <summary>The head of a subscription's queue that is due, with the subscription it goes to.</summary>
public sealed record DueWebhookDelivery(WebhookDelivery Delivery, WebhookSubscription Subscription);
