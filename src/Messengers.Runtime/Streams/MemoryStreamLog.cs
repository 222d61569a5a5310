using System.Globalization;

namespace Messengers.Runtime.Streams;

/// <summary>The entries of one stream namespace in memory, with per-group cursors and pending entries.</summary>
internal sealed class MemoryStreamLog(string streamNamespace, TimeProvider time, int maxLength)
{
    private readonly Lock _lock = new();
    private readonly List<Entry> _entries = [];
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private long _firstSeq = 1;     // sequence number of _entries[0]
    private long _nextSeq = 1;
    private TaskCompletionSource _signal = NewSignal();

    public string Namespace { get; } = streamNamespace;

    /// <summary>Completes when an entry is appended or released after the call.</summary>
    public Task Signal
    {
        get
        {
            lock (_lock)
            {
                return _signal.Task;
            }
        }
    }

    public readonly record struct Entry(long Seq, string Key, byte[] Payload);

    public sealed record Delivery(string Key, string EntryId, byte[] Payload, int DeliveryCount);

    private sealed class Pending(string consumer, long visibleAt)
    {
        public string Consumer { get; set; } = consumer;
        public long VisibleAt { get; set; } = visibleAt;
        public int DeliveryCount { get; set; } = 1;
        public string? LastError { get; set; }
    }

    private sealed class Group(long cursor)
    {
        public long Cursor { get; set; } = cursor;
        public SortedDictionary<long, Pending> Pending { get; } = [];

        /// <summary>
        /// No pending entry becomes visible before this timestamp (a lower bound): until then a fetch skips the scan
        /// of the pending entries, which would otherwise cost O(in flight) on every fetch.
        /// </summary>
        public long EarliestVisibleAt { get; set; } = long.MaxValue;
    }

    public string Append(string key, byte[] payload)
    {
        TaskCompletionSource signal;
        string id;
        lock (_lock)
        {
            var seq = _nextSeq++;
            _entries.Add(new Entry(seq, key, payload));
            id = seq.ToString(CultureInfo.InvariantCulture);
            if (_entries.Count > maxLength)
            {
                TrimLocked(_entries.Count - maxLength);
            }
            else if ((seq & 1023) == 0)
            {
                TrimConsumedLocked();
            }

            signal = _signal;
            _signal = NewSignal();
        }

        signal.TrySetResult();
        return id;
    }

    public void EnsureGroup(string group)
    {
        lock (_lock)
        {
            _groups.TryAdd(group, new Group(_firstSeq));
        }
    }

    public int Unacknowledged(string group)
    {
        lock (_lock)
        {
            return _groups.TryGetValue(group, out var g) ? g.Pending.Count + (int)(_nextSeq - Math.Max(g.Cursor, _firstSeq)) : 0;
        }
    }

    /// <summary>Takes entries due for redelivery, then new entries, marking them pending for <paramref name="consumer"/>.</summary>
    public List<Delivery> Fetch(string group, string consumer, int max, StreamSubscriptionOptions options, out List<DeadLetter> deadLetters)
    {
        var result = new List<Delivery>();
        deadLetters = [];
        var now = time.GetTimestamp();
        var visibleAt = now + Ticks(options.VisibilityTimeout);
        lock (_lock)
        {
            var g = _groups[group];
            if (g.Pending.Count > 0 && now >= g.EarliestVisibleAt)
            {
                RedeliverLocked(group, g, consumer, max, now, visibleAt, options, result, deadLetters);
            }

            g.Cursor = Math.Max(g.Cursor, _firstSeq);
            while (result.Count < max && g.Cursor < _nextSeq)
            {
                var entry = _entries[(int)(g.Cursor - _firstSeq)];
                g.Pending[entry.Seq] = new Pending(consumer, visibleAt);
                g.EarliestVisibleAt = Math.Min(g.EarliestVisibleAt, visibleAt);
                result.Add(new Delivery(entry.Key, Id(entry.Seq), entry.Payload, 1));
                g.Cursor++;
            }
        }

        return result;
    }

    /// <summary>Takes the pending entries whose visibility ran out, dead-lettering those out of attempts.</summary>
    private void RedeliverLocked(string group, Group g, string consumer, int max, long now, long visibleAt, StreamSubscriptionOptions options, List<Delivery> result, List<DeadLetter> deadLetters)
    {
        List<long>? gone = null;
        var earliest = long.MaxValue;
        var scannedAll = true;
        foreach (var (seq, pending) in g.Pending)
        {
            if (result.Count >= max)
            {
                scannedAll = false;
                break;
            }

            if (pending.VisibleAt > now)
            {
                earliest = Math.Min(earliest, pending.VisibleAt);
                continue;
            }

            if (seq < _firstSeq)
            {
                (gone ??= []).Add(seq); // trimmed away by the length bound
                continue;
            }

            var entry = _entries[(int)(seq - _firstSeq)];
            if (pending.DeliveryCount >= options.MaxDeliveryAttempts)
            {
                (gone ??= []).Add(seq);
                deadLetters.Add(new DeadLetter(Namespace, entry.Key, group, Id(seq), pending.DeliveryCount, System.Text.Encoding.UTF8.GetString(entry.Payload), pending.LastError));
                continue;
            }

            pending.DeliveryCount++;
            pending.Consumer = consumer;
            pending.VisibleAt = visibleAt;
            earliest = Math.Min(earliest, visibleAt);
            result.Add(new Delivery(entry.Key, Id(seq), entry.Payload, pending.DeliveryCount));
        }

        if (gone is not null)
        {
            foreach (var seq in gone)
            {
                g.Pending.Remove(seq);
            }
        }

        g.EarliestVisibleAt = scannedAll ? earliest : now;
    }

    public void Acknowledge(string group, string entryId)
    {
        lock (_lock)
        {
            if (_groups.TryGetValue(group, out var g))
            {
                g.Pending.Remove(long.Parse(entryId, CultureInfo.InvariantCulture));
            }
        }
    }

    public void Fail(string group, string entryId, TimeSpan retryDelay, string error)
    {
        lock (_lock)
        {
            if (_groups.TryGetValue(group, out var g) && g.Pending.TryGetValue(long.Parse(entryId, CultureInfo.InvariantCulture), out var pending))
            {
                pending.VisibleAt = time.GetTimestamp() + Ticks(retryDelay);
                pending.LastError = error;
                g.EarliestVisibleAt = Math.Min(g.EarliestVisibleAt, pending.VisibleAt);
            }
        }
    }

    /// <summary>Makes the pending entries of a departing consumer visible to the rest of the group at once.</summary>
    public void Release(string group, string consumer)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_groups.TryGetValue(group, out var g))
            {
                var now = time.GetTimestamp();
                foreach (var pending in g.Pending.Values.Where(p => p.Consumer == consumer))
                {
                    pending.VisibleAt = now;
                    g.EarliestVisibleAt = now;
                }
            }

            signal = _signal;
            _signal = NewSignal();
        }

        signal.TrySetResult();
    }

    private void TrimConsumedLocked()
    {
        if (_groups.Count == 0)
        {
            return;
        }

        var keepFrom = _nextSeq;
        foreach (var g in _groups.Values)
        {
            keepFrom = Math.Min(keepFrom, g.Cursor);
            if (g.Pending.Count > 0)
            {
                keepFrom = Math.Min(keepFrom, g.Pending.Keys.First());
            }
        }

        TrimLocked((int)Math.Max(0, keepFrom - _firstSeq));
    }

    private void TrimLocked(int count)
    {
        if (count <= 0)
        {
            return;
        }

        _entries.RemoveRange(0, count);
        _firstSeq += count;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private static string Id(long seq) => seq.ToString(CultureInfo.InvariantCulture);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
