using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using PubSubChannel = StackExchange.Redis.RedisChannel;

namespace Messengers.Agents.RedisChannel;

/// <summary>
/// One StackExchange.Redis <see cref="ConnectionMultiplexer"/> (one connection string) shared by every agent reached
/// through it, with each agent's <see cref="AgentReplySubscription"/>. The multiplexer never gives up: when Redis is
/// down or restarts it reconnects in the background (backoff from 50 ms up to <c>reconnectMaxDelay</c>, checked on
/// StackExchange.Redis's one-second heartbeat) and subscribes again to every agent's output channel.
/// </summary>
internal sealed class RedisChannelConnection : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<AgentReplySubscription>>> _agents = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly string? _password;
    private Task<ConnectionMultiplexer> _multiplexer = null!;
    private string? _lastFailure;

    private RedisChannelConnection(ConfigurationOptions options, ILogger logger)
    {
        _logger = logger;
        _password = options.Password;
        Endpoint = RedisChannelConnectionString.Endpoints(options);
    }

    /// <summary>The servers, <c>host:port</c>, for messages and logs.</summary>
    public string Endpoint { get; }

    /// <summary>Why the latest connection attempt failed, without credentials; null when it succeeded (or none was made).</summary>
    public string? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>
    /// Starts connecting and returns at once. With <see cref="ConfigurationOptions.AbortOnConnectFail"/> false the
    /// multiplexer exists after the first attempt even when Redis is unreachable, and keeps trying in the background.
    /// </summary>
    public static RedisChannelConnection Start(ConfigurationOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var connection = new RedisChannelConnection(options, logger);
        options.ConnectionAttemptCompleted += connection.OnConnectionAttemptCompleted; // before connecting: the first attempts count too
        connection._multiplexer = connection.ConnectAsync(options);
        return connection;
    }

    /// <summary>
    /// The subscription to <paramref name="agentId"/>'s output channel, made on first use and then shared. Throws what
    /// creating the multiplexer threw, or what subscribing threw (the next call then subscribes again).
    /// </summary>
    public async Task<AgentReplySubscription> RepliesOfAsync(string agentId)
    {
        var multiplexer = await _multiplexer;
        var lazy = _agents.GetOrAdd(agentId, id => new Lazy<Task<AgentReplySubscription>>(() => AgentReplySubscription.SubscribeAsync(multiplexer.GetSubscriber(), id)));
        try
        {
            return await lazy.Value;
        }
        catch
        {
            _agents.TryRemove(KeyValuePair.Create(agentId, lazy));
            throw;
        }
    }

    /// <summary>PUBLISH on <c>agent:{agentId}:input</c>; returns how many subscribers received it.</summary>
    public async Task<long> PublishRequestAsync(string agentId, string payload)
        => await (await _multiplexer).GetSubscriber().PublishAsync(PubSubChannel.Literal(AgentReplySubscription.InputChannel(agentId)), payload);

    /// <summary>A short reason for a failed Redis operation, without credentials (StackExchange.Redis messages are long diagnostics).</summary>
    public string Describe(Exception exception) => Describe(exception, _password);

    /// <summary>Why a call found no usable connection after waiting <paramref name="waited"/>.</summary>
    public string DescribeNoConnection(TimeSpan waited)
        => LastFailure is { } failure
            ? $"{failure} (no connection within {waited.TotalMilliseconds:0} ms)"
            : $"no connection within {waited.TotalMilliseconds:0} ms";

    /// <summary>
    /// The failure type and root cause of <paramref name="exception"/>, e.g. <c>UnableToConnect: Connection refused</c>,
    /// with <paramref name="password"/> masked should it ever appear.
    /// </summary>
    public static string Describe(Exception exception, string? password, ConnectionFailureType? failureType = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        RedisConnectionException? connectionFailure = null;
        var innermost = exception;
        for (var current = exception; current is not null; current = current.InnerException)
        {
            connectionFailure = current as RedisConnectionException ?? connectionFailure;
            innermost = current;
        }

        var cause = innermost is RedisConnectionException or RedisTimeoutException ? null : innermost.Message;
        var type = connectionFailure?.FailureType ?? failureType;
        var reason = (type, cause) switch
        {
            ({ } known, null) => known.ToString(),
            ({ } known, { } text) => $"{known}: {text}",
            (null, _) when exception is TimeoutException => cause ?? "no reply from Redis in time",
            _ => cause ?? exception.GetType().Name,
        };
        return RedisChannelConnectionString.Redact(reason, password);
    }

    /// <summary>Closes the multiplexer (waiting for a first connection attempt still under way, at most <c>connectTimeout</c>).</summary>
    public async ValueTask DisposeAsync()
    {
        ConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await _multiplexer;
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException or ArgumentException)
        {
            return; // never created: nothing to close
        }

        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
        try
        {
            foreach (var lazy in _agents.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully))
            {
                await (await lazy.Value).StopAsync();
            }

            await multiplexer.DisposeAsync();
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException or ObjectDisposedException)
        {
            _logger.CloseFailed(exception, Endpoint);
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions options)
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        if (multiplexer.IsConnected)
        {
            _logger.Connected(Endpoint);
        }
        else
        {
            _logger.NotConnectedYet(Endpoint);
        }

        return multiplexer;
    }

    /// <summary>
    /// Every physical connection attempt, reconnects included: remembers why the latest one failed. An attempt that
    /// StackExchange.Redis abandoned (disposed or cancelled, to retry) does not hide the cause seen before it.
    /// </summary>
    private void OnConnectionAttemptCompleted(object? sender, ConnectionAttemptCompletedEventArgs e)
    {
        if (e.IsSuccess)
        {
            Volatile.Write(ref _lastFailure, null);
            return;
        }

        var error = e.Exception is null ? e.FailureType.ToString() : Describe(e.Exception, _password, e.FailureType);
        _logger.AttemptFailed(Endpoint, e.ConnectionType, error);
        var abandoned = e.FailureType == ConnectionFailureType.ConnectionDisposed || e.Exception?.GetBaseException() is OperationCanceledException;
        if (!abandoned || LastFailure is null)
        {
            Volatile.Write(ref _lastFailure, error);
        }
    }

    /// <summary>Raised once when a connection is lost (not for every failed reconnect attempt).</summary>
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
        => _logger.ConnectionFailed(Endpoint, e.ConnectionType, e.Exception is null ? e.FailureType.ToString() : Describe(e.Exception, _password, e.FailureType));

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _logger.Reconnected(Endpoint, e.ConnectionType);
}
