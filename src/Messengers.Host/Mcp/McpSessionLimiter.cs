using System.Collections.Concurrent;
using System.Globalization;
using Messengers.Host.Hosting;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// Open MCP sessions per key on this silo (sessions live on the silo that made them). The SDK's session options hook
/// reserves a place when a session is created (an <c>initialize</c> without a session id, or a legacy <c>GET /sse</c>) and
/// throws <see cref="McpSessionLimitException"/> over <see cref="McpOptions.MaxSessionsPerKey"/> (the exception handler answers 429); the session run hook gives
/// the place back when the session ends (DELETE, idle expiry, SSE stream closed, shutdown). Sessionless requests hold none.
/// </summary>
public sealed partial class McpSessionLimiter(McpOptions options, ILogger<McpSessionLimiter> logger)
{
    private const string ReservedItem = "messengers.mcp.session-key";

    /// <summary>The first protocol revision without sessions (SEP-2567); later revisions sort after it.</summary>
    private const string SessionlessProtocol = "2026-07-28";

    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary><see cref="ModelContextProtocol.AspNetCore.HttpServerTransportOptions.ConfigureSessionOptions"/>: reserves a session place for the key.</summary>
    public Task ConfigureSessionAsync(HttpContext http, McpServerOptions serverOptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!CreatesSession(http.Request))
        {
            return Task.CompletedTask;
        }

        var key = CallerClaims.FromPrincipal(http.User)?.KeyId ?? "anonymous";
        if (!TryReserve(key))
        {
            LogRefused(logger, key, options.MaxSessionsPerKey);
            throw new McpSessionLimitException(string.Create(CultureInfo.InvariantCulture,
                $"This key already has {options.MaxSessionsPerKey} open MCP sessions on this server, its limit. End unused ones (DELETE /mcp with their Mcp-Session-Id, or close their /sse streams), wait for idle ones to expire, or use sessionless requests (protocol {SessionlessProtocol})."));
        }

        http.Items[ReservedItem] = key;
        return Task.CompletedTask;
    }

    /// <summary><see cref="ModelContextProtocol.AspNetCore.HttpServerTransportOptions.RunSessionHandler"/>: runs the session and frees its place when it ends.</summary>
    public async Task RunSessionAsync(HttpContext http, McpServer server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(server);
        // Read before running: the initiating request may be over (and its context recycled) while the session lives on.
        var key = http.Items.TryGetValue(ReservedItem, out var reserved) ? (string?)reserved : null;
        try
        {
            await server.RunAsync(cancellationToken);
        }
        finally
        {
            if (key is not null)
            {
                Release(key);
            }
        }
    }

    private static bool CreatesSession(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method))
        {
            return true; // legacy GET /sse: the connection is the session
        }

        var version = request.Headers["MCP-Protocol-Version"].ToString();
        return version.Length == 0 || string.CompareOrdinal(version, SessionlessProtocol) < 0;
    }

    private bool TryReserve(string key)
    {
        if (options.MaxSessionsPerKey <= 0)
        {
            _open.AddOrUpdate(key, 1, (_, n) => n + 1);
            return true;
        }

        while (true)
        {
            var current = _open.GetOrAdd(key, 0);
            if (current >= options.MaxSessionsPerKey)
            {
                return false;
            }

            if (_open.TryUpdate(key, current + 1, current))
            {
                return true;
            }
        }
    }

    private void Release(string key)
    {
        while (_open.TryGetValue(key, out var current))
        {
            if (current <= 1 ? _open.TryRemove(new KeyValuePair<string, int>(key, current)) : _open.TryUpdate(key, current - 1, current))
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP session refused for key {KeyId}: it holds {Limit} open sessions (Messengers:Mcp:MaxSessionsPerKey)")]
    private static partial void LogRefused(ILogger logger, string keyId, int limit);
}
