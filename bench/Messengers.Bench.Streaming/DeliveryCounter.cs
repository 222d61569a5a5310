using System.Diagnostics;

namespace Messengers.Bench.Streaming;

/// <summary>Counts deliveries and keeps their end-to-end latencies (one instance shared by the silo's grains).</summary>
public sealed class DeliveryCounter
{
    private readonly Lock _lock = new();
    private readonly List<double> _latencies = [];
    private int _delivered;
    private long _lastDelivery;

    public int Delivered => Volatile.Read(ref _delivered);

    public long LastDelivery => Interlocked.Read(ref _lastDelivery);

    public void Record(long sentAt)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            _latencies.Add(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds);
        }

        Interlocked.Exchange(ref _lastDelivery, now);
        Interlocked.Increment(ref _delivered);
    }

    public void Reset()
    {
        lock (_lock)
        {
            _latencies.Clear();
        }

        Interlocked.Exchange(ref _delivered, 0);
    }

    public double Percentile(double fraction)
    {
        lock (_lock)
        {
            if (_latencies.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _latencies.Order().ToArray();
            return sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];
        }
    }
}
