using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Runtime.Redis;

/// <summary>A message received on a subscribed channel; <see cref="Pattern"/> is set for PSUBSCRIBE deliveries.</summary>
public sealed record RedisPubSubMessage(string Channel, string? Pattern, RedisResult Payload)
{
    public string? Text => Payload.AsString();
}

/// <summary>
/// A dedicated pub/sub connection (SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE). Handlers run one message at a
/// time, in arrival order, on a loop of their own (never on the socket reader), so a slow handler delays later
/// messages but not the connection. After the server drops the connection it reconnects with backoff and subscribes
/// again to every channel and pattern; messages published while disconnected are lost (that is pub/sub).
/// </summary>
public sealed class RedisSubscriber : IAsyncDisposable
{
    private readonly RedisOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Action<RedisPubSubMessage>>> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Action<RedisPubSubMessage>>> _patterns = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Kind, string Name), List<TaskCompletionSource>> _confirmations = [];
    private readonly Channel<RedisPubSubMessage> _messages = Channel.CreateUnbounded<RedisPubSubMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private readonly Task _run;
    private readonly Task _dispatch;
    private RedisSocket? _socket;
    private long _epoch;

    public RedisSubscriber(RedisOptions options, ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger<RedisSubscriber>();
        _time = time ?? TimeProvider.System;
        _run = Task.Run(RunAsync);
        _dispatch = Task.Run(DispatchAsync);
    }

    public RedisSubscriber(string connectionString, ILoggerFactory? loggers = null, TimeProvider? time = null)
        : this(RedisOptions.Parse(connectionString), loggers, time)
    {
    }

    /// <summary>Counts successful connections; after a change, messages may have been missed.</summary>
    public long ConnectionEpoch => Interlocked.Read(ref _epoch);

    /// <summary>Adds <paramref name="handler"/> for <paramref name="channel"/> and waits until the server confirms the subscription.</summary>
    public Task SubscribeAsync(string channel, Action<RedisPubSubMessage> handler, CancellationToken cancellationToken = default)
        => AddAsync(_channels, "subscribe", channel, handler, cancellationToken);

    /// <summary>Adds <paramref name="handler"/> for channels matching a glob <paramref name="pattern"/> and waits for confirmation.</summary>
    public Task PSubscribeAsync(string pattern, Action<RedisPubSubMessage> handler, CancellationToken cancellationToken = default)
        => AddAsync(_patterns, "psubscribe", pattern, handler, cancellationToken);

    /// <summary>Removes every handler of <paramref name="channel"/> and waits until the server confirms.</summary>
    public Task UnsubscribeAsync(string channel, CancellationToken cancellationToken = default)
        => RemoveAsync(_channels, "unsubscribe", channel, cancellationToken);

    public Task PUnsubscribeAsync(string pattern, CancellationToken cancellationToken = default)
        => RemoveAsync(_patterns, "punsubscribe", pattern, cancellationToken);

    /// <summary>Removes one handler of <paramref name="channel"/>; unsubscribes on the server when it was the last one.</summary>
    public async Task UnsubscribeAsync(string channel, Action<RedisPubSubMessage> handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        Task confirmed;
        lock (_lock)
        {
            if (!_channels.TryGetValue(channel, out var handlers) || !handlers.Remove(handler) || handlers.Count > 0)
            {
                return;
            }

            _channels.Remove(channel);
            confirmed = AwaitConfirmationLocked("unsubscribe", channel);
        }

        if (await SendAsync(["UNSUBSCRIBE", channel], cancellationToken))
        {
            await WaitAsync(confirmed, "unsubscribe", channel, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        await _disposing.CancelAsync();
        RedisSocket? socket;
        lock (_lock)
        {
            socket = _socket;
        }

        if (socket is not null)
        {
            await socket.DisposeAsync();
        }

        await _run;
        _messages.Writer.TryComplete();
        await _dispatch;
        _writeLock.Dispose();
        _disposing.Dispose();
    }

    private async Task AddAsync(Dictionary<string, List<Action<RedisPubSubMessage>>> map, string kind, string name, Action<RedisPubSubMessage> handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        Task confirmed;
        lock (_lock)
        {
            if (map.TryGetValue(name, out var handlers))
            {
                handlers.Add(handler);
                return; // already subscribed on the server
            }

            map[name] = [handler];
            confirmed = AwaitConfirmationLocked(kind, name);
        }

        await SendAsync([kind.ToUpperInvariant(), name], cancellationToken);
        await WaitAsync(confirmed, kind, name, cancellationToken);
    }

    private async Task RemoveAsync(Dictionary<string, List<Action<RedisPubSubMessage>>> map, string kind, string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Task confirmed;
        lock (_lock)
        {
            if (!map.Remove(name))
            {
                return;
            }

            confirmed = AwaitConfirmationLocked(kind, name);
        }

        if (await SendAsync([kind.ToUpperInvariant(), name], cancellationToken))
        {
            await WaitAsync(confirmed, kind, name, cancellationToken); // not connected: nothing to undo on the server
        }
    }

    private Task AwaitConfirmationLocked(string kind, string name)
    {
        var confirmation = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_confirmations.TryGetValue((kind, name), out var list))
        {
            _confirmations[(kind, name)] = list = [];
        }

        list.Add(confirmation);
        return confirmation.Task;
    }

    private async Task WaitAsync(Task confirmed, string kind, string name, CancellationToken cancellationToken)
    {
        try
        {
            await confirmed.WaitAsync(_options.CommandTimeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new RedisTimeoutException($"Redis at {_options} did not confirm {kind} {name} within {_options.CommandTimeout.TotalMilliseconds:0} ms.");
        }
    }

    /// <summary>Writes a command if connected (true); otherwise the reconnect will subscribe from the handler maps.</summary>
    private async Task<bool> SendAsync(object[] command, CancellationToken cancellationToken)
    {
        RedisSocket? socket;
        lock (_lock)
        {
            socket = _socket;
        }

        if (socket is null)
        {
            return false;
        }

        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            Resp.WriteCommand(socket.Output, command);
            await socket.Output.FlushAsync(cancellationToken);
            return true;
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return false; // the reader notices the broken connection; the reconnect subscribes again
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task RunAsync()
    {
        var delay = TimeSpan.Zero;
        var attempt = 0;
        var token = _disposing.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, token);
                }

                attempt++;
                var socket = await RedisSocket.ConnectAsync(_options, token);
                await _writeLock.WaitAsync(token);
                try
                {
                    lock (_lock)
                    {
                        _socket = socket;
                        foreach (var channel in _channels.Keys)
                        {
                            Resp.WriteCommand(socket.Output, ["SUBSCRIBE", channel]);
                        }

                        foreach (var pattern in _patterns.Keys)
                        {
                            Resp.WriteCommand(socket.Output, ["PSUBSCRIBE", pattern]);
                        }
                    }

                    await socket.Output.FlushAsync(token);
                }
                finally
                {
                    _writeLock.Release();
                }

                Interlocked.Increment(ref _epoch);
                if (attempt > 1 || Interlocked.Read(ref _epoch) > 1)
                {
                    RedisLog.Reconnected(_logger, _options.ToString(), attempt);
                }

                attempt = 0;
                delay = TimeSpan.Zero;
                var cause = await socket.RunReaderAsync(OnReply);
                lock (_lock)
                {
                    _socket = null;
                }

                await socket.DisposeAsync();
                if (!token.IsCancellationRequested)
                {
                    RedisLog.ConnectionLost(_logger, _options.ToString(), cause.Message);
                    delay = _options.ReconnectMinDelay;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                delay = delay == TimeSpan.Zero ? _options.ReconnectMinDelay : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
                RedisLog.ConnectFailed(_logger, _options.ToString(), attempt, delay.TotalMilliseconds, exception.Message);
            }
        }
    }

    private void OnReply(RedisResult reply)
    {
        if (reply.Type is not (RedisResultType.Array or RedisResultType.Push) || reply.Count < 3)
        {
            return; // e.g. a PONG
        }

        var kind = reply[0].Span;
        if (kind.SequenceEqual("message"u8))
        {
            _messages.Writer.TryWrite(new RedisPubSubMessage(reply[1].AsString()!, null, reply[2]));
        }
        else if (kind.SequenceEqual("pmessage"u8) && reply.Count >= 4)
        {
            _messages.Writer.TryWrite(new RedisPubSubMessage(reply[2].AsString()!, reply[1].AsString(), reply[3]));
        }
        else
        {
            var key = (reply[0].AsString()!, reply[1].AsString() ?? string.Empty);
            List<TaskCompletionSource>? waiting;
            lock (_lock)
            {
                _confirmations.Remove(key, out waiting);
            }

            if (waiting is not null)
            {
                foreach (var confirmation in waiting)
                {
                    confirmation.TrySetResult();
                }
            }
        }
    }

    private async Task DispatchAsync()
    {
        await foreach (var message in _messages.Reader.ReadAllAsync())
        {
            Action<RedisPubSubMessage>[] handlers;
            lock (_lock)
            {
                var map = message.Pattern is null ? _channels : _patterns;
                var name = message.Pattern ?? message.Channel;
                handlers = map.TryGetValue(name, out var list) ? [.. list] : [];
            }

            foreach (var handler in handlers)
            {
                try
                {
                    handler(message);
                }
                catch (Exception exception)
                {
                    RedisLog.SubscriberHandlerFailed(_logger, exception, message.Channel);
                }
            }
        }
    }
}
