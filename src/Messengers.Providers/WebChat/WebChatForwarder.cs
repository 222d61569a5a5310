using System.Threading.Channels;
using Messengers.Abstractions.WebChat;
using Microsoft.Extensions.Logging;

namespace Messengers.Providers.WebChat;

/// <summary>
/// Sends one remote silo the events published here, in order: one call at a time, each carrying everything queued
/// since the last (so a busy relay costs a call per round trip, not per event). Publishing never waits for it. A
/// failed call's events are dropped (at most once, like a tab's full buffer); a silo that stays quiet for
/// <see cref="IdleTime"/> loses its forwarder, which the next event creates again.
/// </summary>
internal sealed partial class WebChatForwarder
{
    private static readonly TimeSpan IdleTime = TimeSpan.FromMinutes(1);
    private const int MaxBatch = 256;

    private readonly Channel<WebChatEnvelope> _queue = Channel.CreateBounded<WebChatEnvelope>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly IWebChatRelayObserver _silo;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<WebChatForwarder> _retired;

    public WebChatForwarder(IWebChatRelayObserver silo, TimeProvider time, ILogger logger, Action<WebChatForwarder> retired)
    {
        _silo = silo;
        _time = time;
        _logger = logger;
        _retired = retired;
        Completion = Task.Run(RunAsync); // off the caller's context: a publishing grain's scheduler must not run the pump
    }

    /// <summary>Ends once the forwarder has retired and sent what was queued before.</summary>
    public Task Completion { get; }

    public IWebChatRelayObserver Silo => _silo;

    /// <summary>False once this forwarder has retired: make a new one.</summary>
    public bool TryPost(WebChatEnvelope envelope) => _queue.Writer.TryWrite(envelope);

    public void Retire() => _queue.Writer.TryComplete();

    private async Task RunAsync()
    {
        var batch = new List<WebChatEnvelope>();
        while (true)
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var envelope))
            {
                batch.Add(envelope);
            }

            if (batch.Count > 0)
            {
                try
                {
                    await _silo.OnEventsAsync([.. batch]);
                }
                catch (Exception exception)
                {
                    LogSendFailed(_logger, batch.Count, exception.Message);
                }

                batch.Clear();
                continue;
            }

            if (!await WaitAsync())
            {
                // Retired (idle or the hub stopped): what was queued before is still sent, then nothing more is taken.
                _queue.Writer.TryComplete();
                if (_queue.Reader.TryPeek(out _))
                {
                    continue;
                }

                _retired(this);
                return;
            }
        }
    }

    /// <summary>Waits for events; false when none came within <see cref="IdleTime"/> or the forwarder was retired.</summary>
    private async Task<bool> WaitAsync()
    {
        using var idle = new CancellationTokenSource(IdleTime, _time);
        try
        {
            return await _queue.Reader.WaitToReadAsync(idle.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Web chat: {Count} events for another silo's visitor streams were not delivered: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, int count, string reason);
}
