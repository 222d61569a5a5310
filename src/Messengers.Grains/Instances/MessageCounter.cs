using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;

namespace Messengers.Grains.Instances;

/// <summary>
/// Counts the messages the chats of this silo store and hands the sums to the instances' grains a few times a second
/// (one call per busy instance instead of one per message, which at thousands of messages a second is most of an
/// instance grain's work). Counters are statistics: a sum not handed over when the process dies is lost, as is the
/// instance grain's own unsaved count.
/// </summary>
public sealed partial class MessageCounter : IAsyncDisposable
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);
    private readonly ConcurrentDictionary<(string InstanceId, bool Outgoing), long> _pending = new();
    private readonly IGrainFactory _grains;
    private readonly ILogger<MessageCounter> _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly PeriodicTimer _timer;
    private readonly Task _loop;

    public MessageCounter(IGrainFactory grains, TimeProvider time, ILogger<MessageCounter> logger)
    {
        _grains = grains;
        _logger = logger;
        _timer = new PeriodicTimer(FlushInterval, time);
        _loop = Task.Run(LoopAsync);
    }

    public void Count(string instanceId, bool outgoing) => _pending.AddOrUpdate((instanceId, outgoing), 1, static (_, count) => count + 1);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _timer.Dispose();
        await _loop;
        Flush(); // whatever came in since the last tick
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        try
        {
            while (await _timer.WaitForNextTickAsync(_stop.Token))
            {
                Flush();
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private void Flush()
    {
        var sums = new Dictionary<string, (int Received, int Sent)>(StringComparer.Ordinal);
        foreach (var (key, _) in _pending)
        {
            if (TakeCount(key) is var count and > 0)
            {
                var sum = sums.GetValueOrDefault(key.InstanceId);
                sums[key.InstanceId] = key.Outgoing ? (sum.Received, sum.Sent + (int)count) : (sum.Received + (int)count, sum.Sent);
            }
        }

        foreach (var (instanceId, (received, sent)) in sums)
        {
            try
            {
                _ = _grains.GetGrain<IInstanceGrain>(instanceId).CountMessagesAsync(received, sent); // one-way
            }
            catch (Exception exception)
            {
                Log.CountLost(_logger, exception, instanceId, received, sent);
            }
        }
    }

    /// <summary>Removes the count only together with the value read, so a count added meanwhile stays for the next flush.</summary>
    private long TakeCount((string InstanceId, bool Outgoing) key)
    {
        while (_pending.TryGetValue(key, out var count))
        {
            if (_pending.TryRemove(KeyValuePair.Create(key, count)))
            {
                return count;
            }
        }

        return 0;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Message counts of {InstanceId} not handed over ({Received} in, {Sent} out)")]
        public static partial void CountLost(ILogger logger, Exception exception, string instanceId, int received, int sent);
    }
}
