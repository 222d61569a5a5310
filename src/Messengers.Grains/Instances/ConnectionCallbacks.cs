using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Microsoft.Extensions.Logging;

namespace Messengers.Grains.Instances;

/// <summary>
/// Where a live connection's callbacks go: status and QR to the instance's <see cref="IInstanceGrain"/>, messages to
/// the chat's <see cref="IChatSessionGrain"/>.
/// A status or QR report that fails (the instance grain's silo has just died and is not yet declared dead, the cluster
/// is busy) is retried in the background with backoff, a newer report of the same kind replacing one still waiting,
/// so a provider's receive loop neither fails nor stalls on it. A message is not retried here: the provider
/// acknowledges it upstream only once it is stored, so its own retry fetches it again.
/// </summary>
internal sealed partial class ConnectionCallbacks(IGrainFactory grains, string instanceId, TimeProvider time, ILogger logger, CancellationToken stopped) : IConnectionCallbacks
{
    private const int MaxAttempts = 10;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(10);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Func<Task>> _waiting = [];
    private readonly Dictionary<string, Task> _retrying = [];

    private IInstanceGrain Instance => grains.GetGrain<IInstanceGrain>(instanceId);

    public Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null)
        => ReportAsync("status", () => Instance.ReportStatusAsync(status, reason, account));

    public Task OnQrAsync(QrCodeInfo? qr) => ReportAsync("QR", () => Instance.ReportQrAsync(qr));

    public Task OnMessageAsync(InboundMessage message)
        => grains.GetGrain<IChatSessionGrain>(ChatKey.For(instanceId, message.ChatId)).ReceiveAsync(message);

    public Task OnAckAsync(string messageId, MessageAck ack) => Task.CompletedTask;

    private async Task ReportAsync(string kind, Func<Task> report)
    {
        lock (_gate)
        {
            if (_retrying.ContainsKey(kind))
            {
                _waiting[kind] = report; // delivered after the one being retried, which it replaces as the latest
                return;
            }
        }

        try
        {
            await report();
        }
        catch (Exception exception) when (IsWorthRetrying(exception))
        {
            Log.ReportFailed(logger, kind, instanceId, 1, exception.Message);
            lock (_gate)
            {
                _waiting.TryAdd(kind, report);
                if (!_retrying.ContainsKey(kind))
                {
                    _retrying[kind] = Task.Run(() => RetryAsync(kind), CancellationToken.None);
                }
            }
        }
    }

    private async Task RetryAsync(string kind)
    {
        for (var attempt = 2; ; attempt++)
        {
            Func<Task> report;
            lock (_gate)
            {
                if (stopped.IsCancellationRequested || !_waiting.Remove(kind, out report!))
                {
                    _waiting.Remove(kind);
                    _retrying.Remove(kind);
                    return;
                }
            }

            var delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, 250 * Math.Pow(2, attempt - 2)));
            try
            {
                await Task.Delay(delay, time, stopped);
                await report();
                attempt = 1; // delivered; a report that came meanwhile starts its own count
            }
            catch (OperationCanceledException) when (stopped.IsCancellationRequested)
            {
            }
            catch (Exception exception) when (IsWorthRetrying(exception))
            {
                Log.ReportFailed(logger, kind, instanceId, attempt, exception.Message);
                lock (_gate)
                {
                    if (attempt >= MaxAttempts)
                    {
                        Log.ReportAbandoned(logger, kind, instanceId, attempt);
                        attempt = 1;
                    }
                    else
                    {
                        _waiting.TryAdd(kind, report); // unless a newer report is waiting
                    }
                }
            }
        }
    }

    /// <summary>The instance was deleted or refused the report: nothing to retry.</summary>
    private static bool IsWorthRetrying(Exception exception) => exception is not (InstanceNotFoundException or ArgumentException or OperationCanceledException);

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting the {Kind} of instance {InstanceId} failed (attempt {Attempt}), trying again: {Reason}")]
        public static partial void ReportFailed(ILogger logger, string kind, string instanceId, int attempt, string reason);

        [LoggerMessage(Level = LogLevel.Error, Message = "Gave up reporting the {Kind} of instance {InstanceId} after {Attempts} attempts; the next report corrects it")]
        public static partial void ReportAbandoned(ILogger logger, string kind, string instanceId, int attempts);
    }
}
