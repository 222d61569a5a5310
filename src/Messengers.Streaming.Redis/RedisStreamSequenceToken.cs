using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Orleans.Streams;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Position of an event in a Redis stream: the entry id (<c>{Timestamp}-{Sequence}</c>) plus the index of the event in the
/// entry's batch. Derived from the entry id only, so a redelivered entry carries the same token.
/// </summary>
[GenerateSerializer, Immutable, Alias("Messengers.Streaming.Redis.RedisStreamSequenceToken")]
public sealed class RedisStreamSequenceToken : StreamSequenceToken
{
    private const int SequenceBits = 20;

    public RedisStreamSequenceToken(long timestamp, long sequence, int eventIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(timestamp);
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        ArgumentOutOfRangeException.ThrowIfNegative(eventIndex);
        Timestamp = timestamp;
        Sequence = sequence;
        EventIndex = eventIndex;
    }

    /// <summary>Milliseconds part of the entry id.</summary>
    [Id(0)]
    public long Timestamp { get; private set; }

    /// <summary>Sequence part of the entry id.</summary>
    [Id(1)]
    public long Sequence { get; private set; }

    [Id(2)]
    public override int EventIndex { get; protected set; }

    /// <summary>
    /// A single number that orders like the entry id as long as fewer than 2^20 entries share a millisecond
    /// (comparisons use <see cref="Timestamp"/> and <see cref="Sequence"/> themselves).
    /// </summary>
    public override long SequenceNumber
    {
        get => (Timestamp << SequenceBits) | Math.Min(Sequence, (1L << SequenceBits) - 1);
        protected set => throw new NotSupportedException("The sequence number is derived from the entry id.");
    }

    /// <summary>The Redis entry id, e.g. <c>1733580000000-0</c>.</summary>
    public string EntryId => Timestamp.ToString(CultureInfo.InvariantCulture) + "-" + Sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a Redis entry id (<c>ms-seq</c>).</summary>
    public static bool TryParse(string? entryId, int eventIndex, [NotNullWhen(true)] out RedisStreamSequenceToken? token)
    {
        token = null;
        var dash = entryId?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        if (entryId is null || dash <= 0
            || !long.TryParse(entryId.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            || !long.TryParse(entryId.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            return false;
        }

        token = new RedisStreamSequenceToken(timestamp, sequence, eventIndex);
        return true;
    }

    /// <summary>The token of event <paramref name="eventIndex"/> of the same entry.</summary>
    public RedisStreamSequenceToken WithEventIndex(int eventIndex) => new(Timestamp, Sequence, eventIndex);

    public override bool Equals(StreamSequenceToken? other)
        => other is RedisStreamSequenceToken token
            && token.Timestamp == Timestamp && token.Sequence == Sequence && token.EventIndex == EventIndex;

    public override bool Equals(object? obj) => Equals(obj as StreamSequenceToken);

    public override int GetHashCode() => HashCode.Combine(Timestamp, Sequence, EventIndex);

    public override int CompareTo(StreamSequenceToken? other)
    {
        if (other is null)
        {
            return 1;
        }

        if (other is RedisStreamSequenceToken token)
        {
            var byTimestamp = Timestamp.CompareTo(token.Timestamp);
            if (byTimestamp != 0)
            {
                return byTimestamp;
            }

            var bySequence = Sequence.CompareTo(token.Sequence);
            return bySequence != 0 ? bySequence : EventIndex.CompareTo(token.EventIndex);
        }

        var bySequenceNumber = SequenceNumber.CompareTo(other.SequenceNumber);
        return bySequenceNumber != 0 ? bySequenceNumber : EventIndex.CompareTo(other.EventIndex);
    }

    public override string ToString() => EntryId + "#" + EventIndex.ToString(CultureInfo.InvariantCulture);
}
