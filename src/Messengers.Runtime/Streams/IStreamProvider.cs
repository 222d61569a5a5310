namespace Messengers.Runtime.Streams;

/// <summary>
/// A stream provider. Producers append to a stream; consumers subscribe to a whole namespace as members of a
/// consumer group: members of one group share the entries, every group sees every entry, delivery is
/// at least once, and an entry not acknowledged in time is delivered again.
/// </summary>
public interface IStreamProvider
{
    string Name { get; }

    IAsyncStream<T> GetStream<T>(StreamId streamId);

    /// <summary>
    /// Joins <paramref name="consumerGroup"/> on every stream of <paramref name="streamNamespace"/>. A new group starts
    /// at the oldest retained entry. Entries of one stream id reach one consumer's handler in order, one at a time.
    /// </summary>
    Task<IStreamSubscription> SubscribeAsync<T>(
        string streamNamespace,
        string consumerGroup,
        StreamHandler<T> handler,
        StreamSubscriptionOptions? options = null,
        CancellationToken cancellationToken = default);
}

/// <summary>Handles one delivered entry. Returning acknowledges it (with <see cref="StreamSubscriptionOptions.AutoAcknowledge"/>); throwing leaves it for redelivery.</summary>
public delegate Task StreamHandler<T>(StreamEntry<T> entry, CancellationToken cancellationToken);

public interface IAsyncStream<T>
{
    StreamId StreamId { get; }

    /// <summary>Appends an item and returns its entry id once the provider has stored it.</summary>
    Task<string> OnNextAsync(T item, CancellationToken cancellationToken = default);
}

/// <summary>One delivery of a stream entry. <see cref="DeliveryCount"/> is 1 on the first delivery.</summary>
public sealed record StreamEntry<T>(StreamId StreamId, string EntryId, T Item, int DeliveryCount);

public interface IStreamSubscription : IAsyncDisposable
{
    string StreamNamespace { get; }

    string ConsumerGroup { get; }

    string ConsumerName { get; }

    /// <summary>Acknowledges an entry explicitly (needed only when <see cref="StreamSubscriptionOptions.AutoAcknowledge"/> is off).</summary>
    Task AcknowledgeAsync(StreamId streamId, string entryId, CancellationToken cancellationToken = default);
}

public sealed record StreamSubscriptionOptions
{
    /// <summary>This member's name within the group; defaults to a unique name per subscription.</summary>
    public string? ConsumerName { get; init; }

    /// <summary>Entries handled at once by this consumer (entries of one stream id still run one after another).</summary>
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>An entry delivered but neither acknowledged nor failed within this time is delivered again, possibly to another member.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>After a handler throws, the entry is delivered again after this delay (growing with each attempt).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Deliveries before an entry is moved to the dead-letter stream and logged.</summary>
    public int MaxDeliveryAttempts { get; init; } = 5;

    /// <summary>Acknowledge each entry when its handler returns.</summary>
    public bool AutoAcknowledge { get; init; } = true;

    /// <summary>How many entries are fetched from the provider at once.</summary>
    public int BatchSize { get; init; } = 128;

    public static StreamSubscriptionOptions Default { get; } = new();

    /// <summary>The delay before attempt <paramref name="deliveryCount"/> + 1 after a failure: doubles per attempt, capped at the visibility timeout.</summary>
    public TimeSpan RetryDelayAfter(int deliveryCount)
    {
        var factor = Math.Pow(2, Math.Clamp(deliveryCount - 1, 0, 16));
        var delay = TimeSpan.FromTicks((long)Math.Min(RetryDelay.Ticks * factor, VisibilityTimeout.Ticks));
        return delay;
    }
}

public static class StreamNames
{
    /// <summary>The namespace that receives entries of <paramref name="streamNamespace"/> that exhausted their delivery attempts.</summary>
    public static string DeadLetterNamespace(string streamNamespace) => streamNamespace + ".dead";

    public const string DefaultProvider = "Default";
}

/// <summary>What a dead-letter entry carries: the original entry and why it was given up.</summary>
public sealed record DeadLetter(string StreamNamespace, string StreamKey, string ConsumerGroup, string EntryId, int DeliveryCount, string Payload, string? LastError);
