using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Messengers.Grains.Instances;

/// <summary>
/// Counts the messages the chats of this silo store and hands the sums to the instances' grains a few times a second
/// (one call per busy instance instead of one per message, which at thousands of messages a second is most of an
/// instance grain's work). Counters are statistics: a sum not handed over when the process dies is lost, as is the
/// instance grain's own unsaved count. A silo that stops hands over what it has before its grains deactivate.
/// </summary>
public sealed partial class MessageCounter : SiloBackgroundLoop, ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);
    private readonly ConcurrentDictionary<(string InstanceId, bool Outgoing), long> _pending = new();
    private readonly IGrainFactory _grains;
    private readonly ILogger<MessageCounter> _logger;
    private readonly PeriodicTimer _timer;

    public MessageCounter(IGrainFactory grains, TimeProvider time, ILogger<MessageCounter> logger)
    {
        _grains = grains;
        _logger = logger;
        _timer = new PeriodicTimer(FlushInterval, time);
        StartLoop(LoopAsync);
    }

    public void Count(string instanceId, bool outgoing) => _pending.AddOrUpdate((instanceId, outgoing), 1, static (_, count) => count + 1);

    /// <summary>The first thing a stopping silo does: the counts reach the instance grains, which save them when they deactivate.</summary>
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(MessageCounter), ServiceLifecycleStage.Active, _ => Task.CompletedTask, _ => Flush());
    }

    protected override async ValueTask DisposeCoreAsync()
    {
        _timer.Dispose();
        await base.DisposeCoreAsync();
    }

    private async Task LoopAsync()
    {
        try
        {
            while (await _timer.WaitForNextTickAsync(Stopping))
            {
                _ = Flush(); // failures are logged there
            }
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private Task Flush()
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

        return sums.Count == 0 ? Task.CompletedTask : Task.WhenAll(sums.Select(sum => HandOverAsync(sum.Key, sum.Value.Received, sum.Value.Sent)));
    }

    private async Task HandOverAsync(string instanceId, int received, int sent)
    {
        try
        {
            await _grains.GetGrain<IInstanceGrain>(instanceId).CountMessagesAsync(received, sent);
        }
        catch (Exception exception)
        {
            Log.CountLost(_logger, exception, instanceId, received, sent);
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
