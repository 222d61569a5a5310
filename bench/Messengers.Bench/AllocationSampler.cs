using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Messengers.Bench;

/// <summary>
/// Which types a run allocates most, from the runtime's allocation-tick events (one per ~100 KB allocated, naming the
/// type of the object that crossed the mark): a sampled profile, cheap enough to leave on while measuring.
/// Enabled by BENCH_ALLOCATIONS=1.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _exceptions = new(StringComparer.Ordinal);
    private volatile bool _recording;

    private AllocationSampler()
    {
        // Exceptions are costly; any thrown per message shows up here.
        AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
        {
            if (_recording)
            {
                _exceptions.AddOrUpdate(e.Exception.GetType().Name + ": " + e.Exception.Message, 1, (_, n) => n + 1);
            }
        };
    }

    public static AllocationSampler? StartIfRequested()
        => Environment.GetEnvironmentVariable("BENCH_ALLOCATIONS") == "1" ? new AllocationSampler() : null;

    public void Record(bool on)
    {
        if (on)
        {
            _bytesByType.Clear();
            _exceptions.Clear();
        }

        _recording = on;
    }

    public void Print(string label, int top = 25)
    {
        var total = _bytesByType.Values.Sum();
        Console.WriteLine($"{label}: sampled allocations by type (share of {total / 1024 / 1024:N0} MB sampled):");
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine($"  {100.0 * bytes / Math.Max(1, total),5:N1} %  {type}");
        }

        foreach (var (exception, count) in _exceptions.OrderByDescending(p => p.Value).Take(10))
        {
            Console.WriteLine($"  thrown {count:N0}×  {exception}");
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || !(eventData.EventName ?? "").StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var index = eventData.PayloadNames!.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (index < 0 || amountIndex < 0)
        {
            return;
        }

        var type = eventData.Payload[index] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }
}
