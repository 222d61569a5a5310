using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Runtime.Redis;

/// <summary>
/// A multiplexed, pipelined connection: any number of concurrent callers share one socket. Commands are written in
/// the order they are issued (batched into as few writes as possible) and replies are matched to them first in,
/// first out. Do not issue blocking commands (BLPOP, XREADGROUP BLOCK, SUBSCRIBE) on a shared connection: every
/// command behind them waits. Use <see cref="CreateDedicated"/> for those and <see cref="RedisSubscriber"/> for
/// pub/sub.
/// <para>
/// The first command connects. When the server drops the connection the commands awaiting replies fail with
/// <see cref="RedisConnectionException"/> and the connection is re-established in the background with exponential
/// backoff (<see cref="RedisOptions.ReconnectMinDelay"/> doubling up to <see cref="RedisOptions.ReconnectMaxDelay"/>);
/// commands issued meanwhile wait for it until their timeout.
/// </para>
/// </summary>
public sealed partial class RedisConnection : IAsyncDisposable
{
    private readonly Channel<PendingCommand> _queue = Channel.CreateUnbounded<PendingCommand>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    private readonly TimeProvider _time;
    private readonly Task _writer;
    private readonly ConcurrentQueue<PendingCommand> _timeouts = new();
    private readonly ITimer _sweeper;
    private readonly long _defaultTimeoutTicks;
    private Link? _link;
    private Task<Link>? _connecting;
    private Exception? _lastError;
    private long _epoch;
    private bool _everConnected;

    public RedisConnection(RedisOptions options, ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<RedisConnection>();
        _time = time ?? TimeProvider.System;
        _defaultTimeoutTicks = (long)(options.CommandTimeout.TotalSeconds * _time.TimestampFrequency);
        var sweep = TimeSpan.FromTicks(Math.Clamp(options.CommandTimeout.Ticks / 20, TimeSpan.FromMilliseconds(5).Ticks, TimeSpan.FromMilliseconds(250).Ticks));
        _sweeper = _time.CreateTimer(static state => ((RedisConnection)state!).SweepTimeouts(), this, sweep, sweep);
        _writer = Task.Run(WriteLoopAsync);
    }

    public RedisConnection(string connectionString, ILoggerFactory? loggers = null, TimeProvider? time = null)
        : this(RedisOptions.Parse(connectionString), loggers, time)
    {
    }

    public RedisOptions Options { get; }

    public bool IsConnected
    {
        get
        {
            lock (_lock)
            {
                return _link is { IsFailed: false };
            }
        }
    }

    /// <summary>Counts successful connections: changes after every reconnect (state kept on the server may be gone).</summary>
    public long ConnectionEpoch => Interlocked.Read(ref _epoch);

    /// <summary>The server's id of the current connection (CLIENT ID), 0 before the first connection.</summary>
    public long ClientId { get; private set; }

    /// <summary>Creates a connection and waits for the first successful connect (up to <see cref="RedisOptions.ConnectTimeout"/>).</summary>
    public static async Task<RedisConnection> ConnectAsync(string connectionString, ILoggerFactory? loggers = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var connection = new RedisConnection(connectionString, loggers, time);
        try
        {
            await connection.WaitConnectedAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Connects now if not connected and waits for it, up to <see cref="RedisOptions.ConnectTimeout"/>.</summary>
    public async Task WaitConnectedAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await GetLinkAsync().WaitAsync(Options.ConnectTimeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw Unreachable();
        }
    }

    /// <summary>A new connection with the same options, for blocking commands; the caller disposes it.</summary>
    public RedisConnection CreateDedicated() => new(Options, _loggers, _time);

    /// <summary>A new pub/sub connection with the same options; the caller disposes it.</summary>
    public RedisSubscriber CreateSubscriber() => new(Options, _loggers, _time);

    /// <summary>Sends a command, for example <c>ExecuteAsync("SET", "k", "v")</c>, with the default timeout.</summary>
    public Task<RedisResult> ExecuteAsync(params object[] args) => ExecuteAsync(args, null, CancellationToken.None);

    /// <summary>
    /// Sends a command and returns its reply. An error reply throws <see cref="RedisServerException"/>; no reply within
    /// <paramref name="timeout"/> (default <see cref="RedisOptions.CommandTimeout"/>) throws <see cref="RedisTimeoutException"/>
    /// (or <see cref="RedisConnectionException"/> while the server is unreachable). A command that times out or is
    /// cancelled before it was written is never sent.
    /// </summary>
    public Task<RedisResult> ExecuteAsync(object[] args, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0)
        {
            throw new ArgumentException("A command needs at least its name.", nameof(args));
        }

        foreach (var arg in args)
        {
            if (arg is null)
            {
                throw new ArgumentException($"An argument of {args[0]} is null.", nameof(args));
            }
        }

        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        var command = new PendingCommand(args);
        if (timeout is not null)
        {
            return _queue.Writer.TryWrite(command)
                ? WaitWithTimeoutAsync(command, timeout.Value, cancellationToken)
                : Task.FromException<RedisResult>(new ObjectDisposedException(nameof(RedisConnection)));
        }

        // The default timeout is enforced by one periodic sweep over commands in issue order, not a timer per command.
        command.Deadline = _time.GetTimestamp() + _defaultTimeoutTicks;
        _timeouts.Enqueue(command);
        if (!_queue.Writer.TryWrite(command))
        {
            return Task.FromException<RedisResult>(new ObjectDisposedException(nameof(RedisConnection)));
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(command, cancellationToken) : command.Task;
    }

    private static async Task<RedisResult> WaitCancellableAsync(PendingCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await command.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            command.TrySetCanceled(cancellationToken);
            throw;
        }
    }

    private async Task<RedisResult> WaitWithTimeoutAsync(PendingCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await command.Task.WaitAsync(timeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            var exception = TimedOut(command, timeout);
            command.TrySetException(exception);
            throw exception;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            command.TrySetCanceled(cancellationToken);
            throw;
        }
    }

    private RedisException TimedOut(PendingCommand command, TimeSpan timeout)
        => IsConnected
            ? new RedisTimeoutException($"No reply to {command.Args[0]} from Redis at {Options} within {timeout.TotalMilliseconds:0} ms.")
            : Unreachable();

    private void SweepTimeouts()
    {
        var now = _time.GetTimestamp();
        while (_timeouts.TryPeek(out var head))
        {
            if (!head.Task.IsCompleted && head.Deadline > now)
            {
                return;
            }

            _timeouts.TryDequeue(out _);
            if (!head.Task.IsCompleted)
            {
                head.TrySetException(TimedOut(head, Options.CommandTimeout));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        await _disposing.CancelAsync();
        await _sweeper.DisposeAsync();
        _queue.Writer.TryComplete();
        try
        {
            await _writer;
        }
        catch (OperationCanceledException)
        {
        }

        while (_queue.Reader.TryRead(out var command))
        {
            command.TrySetException(new ObjectDisposedException(nameof(RedisConnection)));
        }

        Link? link;
        lock (_lock)
        {
            link = _link;
            _link = null;
        }

        if (link is not null)
        {
            await link.Socket.DisposeAsync();
            await link.Reader;
        }
    }

    private RedisConnectionException Unreachable()
        => _lastError is null
            ? new RedisConnectionException($"Redis at {Options} is not reachable (connecting).")
            : new RedisConnectionException($"Redis at {Options} is not reachable: {_lastError.Message}", _lastError);

    private Task<Link> GetLinkAsync()
    {
        lock (_lock)
        {
            if (_link is { IsFailed: false } link)
            {
                return Task.FromResult(link);
            }

            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            return _connecting ??= Task.Run(ConnectLoopAsync);
        }
    }

    private async Task<Link> ConnectLoopAsync()
    {
        var delay = TimeSpan.Zero;
        var attempt = 0;
        while (true)
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, _disposing.Token);
            }

            attempt++;
            try
            {
                var socket = await RedisSocket.ConnectAsync(Options, _disposing.Token);
                var link = new Link(socket);
                link.Reader = Task.Run(() => ReadLoopAsync(link));
                bool reconnected;
                lock (_lock)
                {
                    _link = link;
                    _connecting = null;
                    _lastError = null;
                    reconnected = _everConnected;
                    _everConnected = true;
                    ClientId = socket.ClientId;
                    Interlocked.Increment(ref _epoch);
                }

                if (reconnected)
                {
                    RedisLog.Reconnected(_logger, Options.ToString(), attempt);
                }
                else
                {
                    RedisLog.Connected(_logger, Options.ToString());
                }

                return link;
            }
            catch (Exception exception) when (!_disposing.IsCancellationRequested)
            {
                _lastError = exception;
                delay = delay == TimeSpan.Zero ? Options.ReconnectMinDelay : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Options.ReconnectMaxDelay.Ticks));
                RedisLog.ConnectFailed(_logger, Options.ToString(), attempt, delay.TotalMilliseconds, exception.Message);
            }
        }
    }

    private async Task ReadLoopAsync(Link link)
    {
        var cause = await link.Socket.RunReaderAsync(link.OnReply, link.OnBatchEnd);
        link.OnBatchEnd(); // replies parsed before a protocol error still reach their callers
        link.Fail(cause);
        await link.Socket.DisposeAsync();
        bool reconnect;
        lock (_lock)
        {
            reconnect = _link == link && !_disposing.IsCancellationRequested;
            if (_link == link)
            {
                _link = null;
                _lastError = cause;
            }
        }

        if (reconnect)
        {
            RedisLog.ConnectionLost(_logger, Options.ToString(), cause.Message);
            try
            {
                _ = GetLinkAsync(); // reconnect in the background right away
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        PendingCommand? carry = null;
        try
        {
            while (carry is not null || await reader.WaitToReadAsync(_disposing.Token))
            {
                var link = await GetLinkAsync();
                var output = link.Socket.Output;
                try
                {
                    var written = 0;
                    var yielded = false;
                drain:
                    while (carry is not null || reader.TryRead(out carry))
                    {
                        if (carry.Task.IsCompleted)
                        {
                            carry = null; // timed out or cancelled before it was written
                            continue;
                        }

                        if (!link.TryAccept(carry))
                        {
                            break; // the link failed: send it on the next one
                        }

                        carry = null;
                        written++;
                        if (output.UnflushedBytes > 256 * 1024)
                        {
                            await output.FlushAsync(_disposing.Token);
                        }
                    }

                    if (!yielded && !link.IsFailed && link.PendingCount > written)
                    {
                        // Earlier commands still await replies, so the server is busy anyway: let callers that are
                        // about to issue commands add them to this write instead of paying for a write of their own.
                        yielded = true;
                        await Task.Yield();
                        goto drain;
                    }

                    await output.FlushAsync(_disposing.Token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !_disposing.IsCancellationRequested)
                {
                    link.Fail(new RedisConnectionException($"Writing to Redis failed: {exception.Message}", exception));
                    await link.Socket.DisposeAsync();
                }
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (_disposing.IsCancellationRequested)
        {
        }

        carry?.TrySetException(new ObjectDisposedException(nameof(RedisConnection)));
    }

    /// <summary>
    /// A command awaiting its reply. Continuations run synchronously where the command is completed; the reader never
    /// completes commands itself but hands each read's replies to one thread-pool work item (<see cref="Link.OnBatchEnd"/>),
    /// so a slow caller can delay the callers after it in that batch but never the socket.
    /// </summary>
    private sealed class PendingCommand(object[] args) : TaskCompletionSource<RedisResult>(TaskCreationOptions.None)
    {
        public object[] Args { get; } = args;

        /// <summary>When the default timeout expires (TimeProvider timestamp); unused for explicit timeouts.</summary>
        public long Deadline { get; set; }
    }

    /// <summary>One physical connection and the commands written to it that await replies, oldest first.</summary>
    private sealed class Link(RedisSocket socket)
    {
        private readonly Queue<PendingCommand> _pending = new();
        private readonly Lock _lock = new();
        private Exception? _failure;
        private List<(PendingCommand, RedisResult)>? _completions; // replies of the current read, reader thread only

        public RedisSocket Socket { get; } = socket;

        public Task Reader { get; set; } = Task.CompletedTask;

        public bool IsFailed => Volatile.Read(ref _failure) is not null;

        public int PendingCount
        {
            get
            {
                lock (_lock)
                {
                    return _pending.Count;
                }
            }
        }

        /// <summary>Queues <paramref name="command"/> for a reply and writes it; false when the link has failed.</summary>
        public bool TryAccept(PendingCommand command)
        {
            lock (_lock)
            {
                if (_failure is not null)
                {
                    return false;
                }

                _pending.Enqueue(command);
            }

            Resp.WriteCommand(Socket.Output, command.Args);
            return true;
        }

        public void OnReply(RedisResult reply)
        {
            PendingCommand? command;
            lock (_lock)
            {
                _pending.TryDequeue(out command);
            }

            if (command is null)
            {
                throw new RedisProtocolException("Received a reply with no command waiting for it.");
            }

            (_completions ??= new List<(PendingCommand, RedisResult)>(16)).Add((command, reply));
        }

        /// <summary>Completes the commands answered by one read on the thread pool, off the reader.</summary>
        public void OnBatchEnd()
        {
            if (_completions is not { Count: > 0 } batch)
            {
                return;
            }

            _completions = null;
            ThreadPool.UnsafeQueueUserWorkItem(static batch => Complete(batch), batch, preferLocal: false);
        }

        private static void Complete(List<(PendingCommand Command, RedisResult Reply)> batch)
        {
            foreach (var (command, reply) in batch)
            {
                if (reply.Type == RedisResultType.Error)
                {
                    command.TrySetException(new RedisServerException(reply.AsString()!));
                }
                else
                {
                    command.TrySetResult(reply);
                }
            }
        }

        public void Fail(Exception cause)
        {
            PendingCommand[] failed;
            lock (_lock)
            {
                if (_failure is not null)
                {
                    return;
                }

                _failure = cause;
                failed = [.. _pending];
                _pending.Clear();
            }

            var exception = cause as RedisConnectionException ?? new RedisConnectionException($"The connection to Redis failed: {cause.Message}", cause);
            if (failed.Length > 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(
                    static state =>
                    {
                        foreach (var command in state.Failed)
                        {
                            command.TrySetException(state.Exception);
                        }
                    },
                    (Failed: failed, Exception: exception),
                    preferLocal: false);
            }
        }
    }
}
