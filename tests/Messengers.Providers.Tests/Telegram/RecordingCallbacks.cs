using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>
/// Connection callbacks that record statuses and messages; <see cref="FailNextMessages"/> plays a storage outage,
/// <see cref="FailNextStatuses"/> an instance grain that cannot be reached.
/// </summary>
internal sealed class RecordingCallbacks : IConnectionCallbacks
{
    public ConcurrentQueue<(InstanceStatus Status, string? Reason, AccountInfo? Account)> Statuses { get; } = new();

    public ConcurrentQueue<InboundMessage> Messages { get; } = new();

    public int FailNextMessages { get; set; }

    public int FailNextStatuses { get; set; }

    public int Attempts;

    public Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null)
    {
        if (FailNextStatuses > 0)
        {
            FailNextStatuses--;
            throw new TimeoutException("the instance grain's silo does not answer");
        }

        Statuses.Enqueue((status, reason, account));
        return Task.CompletedTask;
    }

    public Task OnQrAsync(QrCodeInfo? qr) => Task.CompletedTask;

    public Task OnMessageAsync(InboundMessage message)
    {
        Interlocked.Increment(ref Attempts);
        if (FailNextMessages > 0)
        {
            FailNextMessages--;
            throw new InvalidOperationException("storage is down");
        }

        Messages.Enqueue(message);
        return Task.CompletedTask;
    }

    public Task OnAckAsync(string messageId, MessageAck ack) => Task.CompletedTask;
}
