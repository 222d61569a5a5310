using System.Collections.Concurrent;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>One stored MCP session: a Streamable HTTP session (after <c>initialize</c>) or a legacy SSE connection.</summary>
public sealed class McpSession(string id, string keyId, ITransport transport, McpServer server, TimeProvider time) : IAsyncDisposable
{
    private readonly CancellationTokenSource _ended = new();
    private long _lastActivity = time.GetTimestamp();
    private int _openStreams;
    private int _disposed;

    public string Id { get; } = id;

    /// <summary>The key that created the session; only the same key may use it.</summary>
    public string KeyId { get; } = keyId;

    public ITransport Transport { get; } = transport;

    public McpServer Server { get; } = server;

    /// <summary>Cancelled when the session ends (DELETE, expiry, shutdown).</summary>
    public CancellationToken Ended => _ended.Token;

    public void Touch() => Interlocked.Exchange(ref _lastActivity, time.GetTimestamp());

    /// <summary>An open GET stream keeps the session alive while it lasts.</summary>
    public IDisposable OpenStream()
    {
        Interlocked.Increment(ref _openStreams);
        Touch();
        return new StreamLease(this);
    }

    public bool IsIdle(TimeSpan timeout)
        => Volatile.Read(ref _openStreams) == 0 && time.GetElapsedTime(Interlocked.Read(ref _lastActivity)) >= timeout;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _ended.CancelAsync();
        try
        {
            await Transport.DisposeAsync();
            await Server.DisposeAsync();
        }
        catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
        {
            // already closing
        }

        _ended.Dispose();
    }

    private sealed class StreamLease(McpSession session) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Decrement(ref session._openStreams);
                session.Touch();
            }
        }
    }
}

/// <summary>Stored sessions with an idle timeout (checked on every lookup and by a sweep) and a cap on their number.</summary>
public sealed partial class McpSessionStore : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, McpSession> _sessions = new(StringComparer.Ordinal);
    private readonly McpOptions _options;
    private readonly ILogger _logger;
    private readonly ITimer _sweep;

    public McpSessionStore(McpOptions options, TimeProvider time, ILogger<McpSessionStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Clamp(options.SessionIdleTimeout.Ticks / 2, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(1).Ticks));
        _sweep = time.CreateTimer(_ => _ = SweepAsync(), null, period, period);
    }

    public int Count => _sessions.Count;

    /// <summary>Stores a new session unless the cap is reached.</summary>
    public bool TryAdd(McpSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_sessions.Count >= _options.MaxSessions)
        {
            return false;
        }

        return _sessions.TryAdd(session.Id, session);
    }

    /// <summary>The live session with this id; an idle one is ended here rather than answered.</summary>
    public McpSession? Find(string id)
    {
        if (!_sessions.TryGetValue(id, out var session))
        {
            return null;
        }

        if (session.IsIdle(_options.SessionIdleTimeout))
        {
            _ = RemoveAsync(id);
            return null;
        }

        session.Touch();
        return session;
    }

    public async Task<bool> RemoveAsync(string id)
    {
        if (!_sessions.TryRemove(id, out var session))
        {
            return false;
        }

        await session.DisposeAsync();
        return true;
    }

    public async Task SweepAsync()
    {
        foreach (var (id, session) in _sessions)
        {
            if (session.IsIdle(_options.SessionIdleTimeout) && await RemoveAsync(id))
            {
                LogExpired(_logger, id.Length > 6 ? id[..6] : id);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sweep.DisposeAsync();
        foreach (var id in _sessions.Keys)
        {
            await RemoveAsync(id);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP session {SessionPrefix}… expired after being idle")]
    private static partial void LogExpired(ILogger logger, string sessionPrefix);
}
