using System.Security.Claims;
using System.Text.Json;
using Messengers.Host.Api;
using Messengers.Host.Hosting;
using Microsoft.AspNetCore.Http.Features;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

// The stateful (initialize + Mcp-Session-Id) members of StreamableHttpServerTransport are obsolete in 2.3.x; older
// clients (Node SDK 1.x, the Inspector, Agno) still need them, so this file uses them deliberately.
#pragma warning disable MCP9006

namespace Messengers.Host.Mcp;

/// <summary>
/// <c>/mcp</c> (Streamable HTTP: sessionless 2026-07-28 requests and initialize + Mcp-Session-Id sessions) and the legacy
/// SSE pair <c>GET /sse</c> + <c>POST /message?sessionId=…</c>. Every request is authenticated first with the REST API's
/// keys (admin key or an instance key); the caller travels on each JSON-RPC message to the tools.
/// </summary>
public static partial class McpEndpoints
{
    public const string SessionHeader = "Mcp-Session-Id";
    public const string ProtocolVersionHeader = "MCP-Protocol-Version";

    private static readonly HashSet<string> SupportedVersions = new(StringComparer.Ordinal) { "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28" };

    public static WebApplication MapMcpEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Configuration.GetSection(McpOptions.Section).Get<McpOptions>() ?? new McpOptions();
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var time = app.Services.GetRequiredService<TimeProvider>();
        var state = new McpHttpState(
            options,
            McpServerSetup.CreateOptions(app.Services),
            new McpSessionStore(options, time, loggers.CreateLogger<McpSessionStore>()),
            loggers,
            time,
            app.Services,
            loggers.CreateLogger("Messengers.Host.Mcp.McpEndpoints"),
            app.Lifetime.ApplicationStopping);
        app.Lifetime.ApplicationStopping.Register(() => state.Sessions.DisposeAsync().AsTask().GetAwaiter().GetResult());

        app.MapPost("/mcp", (HttpContext http) => PostAsync(http, state)).ExcludeFromDescription();
        app.MapGet("/mcp", (HttpContext http) => GetAsync(http, state)).ExcludeFromDescription();
        app.MapDelete("/mcp", (HttpContext http) => DeleteAsync(http, state)).ExcludeFromDescription();
        app.MapGet("/sse", (HttpContext http) => LegacySseAsync(http, state)).ExcludeFromDescription();
        app.MapPost("/message", (HttpContext http) => LegacyMessageAsync(http, state)).ExcludeFromDescription();
        return app;
    }

    /// <summary>The caller, or null after writing 401. Without any key the endpoint is open only with AllowAnonymous.</summary>
    internal static async Task<Caller?> AuthenticateAsync(HttpContext http, McpHttpState state)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (header.Length == 0 && state.Options.AllowAnonymous)
        {
            return new Caller(true, null, "anonymous");
        }

        var caller = header.Length == 0 ? null : await ApiKeyAuth.AuthenticateAsync(http);
        if (caller is not null)
        {
            return caller;
        }

        http.Response.Headers.WWWAuthenticate = header.Length == 0
            ? "Bearer realm=\"messengers\""
            : "Bearer realm=\"messengers\", error=\"invalid_token\", error_description=\"The API key is not valid.\"";
        await WriteErrorAsync(http, StatusCodes.Status401Unauthorized, -32000, "Unauthorized: send the admin key or an instance key as 'Authorization: Bearer <key>'.");
        return null;
    }

    private static async Task PostAsync(HttpContext http, McpHttpState state)
    {
        var caller = await AuthenticateAsync(http, state);
        if (caller is null)
        {
            return;
        }

        if (!Accepts(http.Request, "application/json") || !Accepts(http.Request, "text/event-stream"))
        {
            await WriteErrorAsync(http, StatusCodes.Status406NotAcceptable, -32000, "Not Acceptable: the client must accept both application/json and text/event-stream.");
            return;
        }

        var message = await ReadMessageAsync(http, caller);
        if (message is null)
        {
            return;
        }

        var version = http.Request.Headers[ProtocolVersionHeader].ToString();
        if (version.Length > 0 && !SupportedVersions.Contains(version))
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, -32000, $"Bad Request: the {ProtocolVersionHeader} header has an unsupported version; supported: {string.Join(", ", SupportedVersions)}.");
            return;
        }

        if (version.Length > 0)
        {
            message.Context!.ProtocolVersion = version;
        }

        var sessionId = http.Request.Headers[SessionHeader].ToString();
        StreamableHttpServerTransport transport;
        McpServer? perRequest = null;
        if (sessionId.Length > 0)
        {
            var session = await FindSessionAsync(http, state, caller, sessionId);
            if (session is null)
            {
                return;
            }

            transport = (StreamableHttpServerTransport)session.Transport;
        }
        else if (message is JsonRpcRequest { Method: RequestMethods.Initialize })
        {
            sessionId = NewSessionId();
            transport = new StreamableHttpServerTransport(state.Loggers) { SessionId = sessionId };
            var server = McpServer.Create(transport, state.ServerOptions, state.Loggers, state.Services);
            var session = new McpSession(sessionId, caller.KeyId, transport, server, state.Time);
            if (!state.Sessions.TryAdd(session))
            {
                await session.DisposeAsync();
                http.Response.Headers.RetryAfter = "60";
                await WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, -32000, $"Too many MCP sessions ({state.Options.MaxSessions}); end unused ones with DELETE or use sessionless requests.");
                return;
            }

            _ = RunSessionAsync(session, state);
            http.Response.Headers[SessionHeader] = sessionId;
        }
        else if (version.Length > 0 && version != "2026-07-28")
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, -32000, $"Bad Request: the {SessionHeader} header is required (send initialize first, or use protocol 2026-07-28 without sessions).");
            return;
        }
        else
        {
            transport = new StreamableHttpServerTransport(state.Loggers) { Stateless = true };
            perRequest = McpServer.Create(transport, state.ServerOptions, state.Loggers, http.RequestServices);
            _ = perRequest.RunAsync(http.RequestAborted);
        }

        try
        {
            http.StartEventStream();
            var wrote = await transport.HandlePostRequestAsync(message, http.Response.Body, http.RequestAborted);
            if (!wrote && !http.Response.HasStarted)
            {
                http.Response.Headers.Remove("Content-Type");
                http.Response.Headers.Remove("Cache-Control");
                http.Response.Headers.Remove("Content-Encoding");
                http.Response.Headers.Remove("X-Accel-Buffering");
                http.Response.StatusCode = StatusCodes.Status202Accepted;
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // the client went away
        }
        finally
        {
            if (perRequest is not null)
            {
                await transport.DisposeAsync();
                await perRequest.DisposeAsync();
            }
        }
    }

    private static async Task GetAsync(HttpContext http, McpHttpState state)
    {
        var caller = await AuthenticateAsync(http, state);
        if (caller is null)
        {
            return;
        }

        var sessionId = http.Request.Headers[SessionHeader].ToString();
        if (sessionId.Length == 0)
        {
            http.Response.Headers.Allow = "POST";
            await WriteErrorAsync(http, StatusCodes.Status405MethodNotAllowed, -32000, $"Method Not Allowed: GET needs an {SessionHeader} (sessionless clients only POST).");
            return;
        }

        if (!Accepts(http.Request, "text/event-stream"))
        {
            await WriteErrorAsync(http, StatusCodes.Status406NotAcceptable, -32000, "Not Acceptable: the client must accept text/event-stream.");
            return;
        }

        var session = await FindSessionAsync(http, state, caller, sessionId);
        if (session is null)
        {
            return;
        }

        using var lease = session.OpenStream();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, session.Ended);
        http.StartEventStream();
        try
        {
            await http.Response.Body.FlushAsync(linked.Token);
            await ((StreamableHttpServerTransport)session.Transport).HandleGetRequestAsync(http.Response.Body, linked.Token);
        }
        catch (OperationCanceledException)
        {
            // client left or the session ended
        }
        catch (InvalidOperationException) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, -32000, "Bad Request: this session already has an open GET stream.");
        }
    }

    private static async Task DeleteAsync(HttpContext http, McpHttpState state)
    {
        var caller = await AuthenticateAsync(http, state);
        if (caller is null)
        {
            return;
        }

        var sessionId = http.Request.Headers[SessionHeader].ToString();
        if (sessionId.Length == 0)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, -32000, $"Bad Request: DELETE needs the {SessionHeader} header.");
            return;
        }

        if (await FindSessionAsync(http, state, caller, sessionId) is null)
        {
            return;
        }

        await state.Sessions.RemoveAsync(sessionId);
        http.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>Legacy SSE (protocol 2024-11-05): the stream announces <c>/message?sessionId=…</c>; every connection has its own transport and server.</summary>
    private static async Task LegacySseAsync(HttpContext http, McpHttpState state)
    {
        var caller = await AuthenticateAsync(http, state);
        if (caller is null)
        {
            return;
        }

        var sessionId = NewSessionId();
        var endpoint = $"{http.Request.PathBase}/message?sessionId={sessionId}";
        var transport = new SseResponseStreamTransport(http.Response.Body, endpoint, sessionId);
        var server = McpServer.Create(transport, state.ServerOptions, state.Loggers, state.Services);
        var session = new McpSession(sessionId, caller.KeyId, transport, server, state.Time);
        if (!state.Sessions.TryAdd(session))
        {
            await session.DisposeAsync();
            http.Response.Headers.RetryAfter = "60";
            await WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, -32000, $"Too many MCP sessions ({state.Options.MaxSessions}).");
            return;
        }

        http.StartEventStream();
        using var lease = session.OpenStream();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, session.Ended, state.Stopping);
        try
        {
            var sending = transport.RunAsync(linked.Token);
            var serving = server.RunAsync(linked.Token);
            await Task.WhenAny(sending, serving);
        }
        catch (OperationCanceledException)
        {
            // the client disconnected
        }
        finally
        {
            await state.Sessions.RemoveAsync(sessionId);
        }
    }

    private static async Task LegacyMessageAsync(HttpContext http, McpHttpState state)
    {
        var caller = await AuthenticateAsync(http, state);
        if (caller is null)
        {
            return;
        }

        var sessionId = http.Request.Query["sessionId"].ToString();
        if (sessionId.Length == 0)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, -32000, "Bad Request: the sessionId query parameter is required (from the 'endpoint' event of GET /sse).");
            return;
        }

        var session = await FindSessionAsync(http, state, caller, sessionId);
        if (session is null)
        {
            return;
        }

        var message = await ReadMessageAsync(http, caller);
        if (message is null)
        {
            return;
        }

        await ((SseResponseStreamTransport)session.Transport).OnMessageReceivedAsync(message, http.RequestAborted);
        http.Response.StatusCode = StatusCodes.Status202Accepted;
        await http.Response.WriteAsync("Accepted", http.RequestAborted);
    }

    /// <summary>The session, or null after writing 404 (unknown or expired, JSON-RPC -32001) or 403 (another key's session).</summary>
    private static async Task<McpSession?> FindSessionAsync(HttpContext http, McpHttpState state, Caller caller, string sessionId)
    {
        var session = state.Sessions.Find(sessionId);
        if (session is null)
        {
            await WriteErrorAsync(http, StatusCodes.Status404NotFound, -32001, "Session not found: it ended or expired; start a new one.");
            return null;
        }

        if (!string.Equals(session.KeyId, caller.KeyId, StringComparison.Ordinal))
        {
            await WriteErrorAsync(http, StatusCodes.Status403Forbidden, -32000, "Forbidden: this session was started with another key.");
            return null;
        }

        return session;
    }

    private static async Task RunSessionAsync(McpSession session, McpHttpState state)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(session.Ended, state.Stopping);
        try
        {
            await session.Server.RunAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            // ended
        }
        catch (Exception e)
        {
            LogSessionFailed(state.Logger, e);
        }
        finally
        {
            await state.Sessions.RemoveAsync(session.Id);
        }
    }

    /// <summary>The POST body as a JSON-RPC message carrying the caller, or null after writing 400.</summary>
    private static async Task<JsonRpcMessage?> ReadMessageAsync(HttpContext http, Caller caller)
    {
        JsonRpcMessage? message;
        try
        {
            message = await JsonSerializer.DeserializeAsync<JsonRpcMessage>(http.Request.Body, McpJsonUtilities.DefaultOptions, http.RequestAborted);
        }
        catch (JsonException)
        {
            message = null;
        }

        if (message is null)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, -32600, "Bad Request: the POST body did not contain a valid JSON-RPC message.");
            return null;
        }

        message.Context ??= new JsonRpcMessageContext();
        message.Context.User = McpCaller.ToPrincipal(caller);
        return message;
    }

    private static bool Accepts(HttpRequest request, string mediaType)
    {
        foreach (var value in request.Headers.Accept)
        {
            foreach (var part in (value ?? "").Split(','))
            {
                var type = part.Split(';')[0].Trim();
                if (type.Equals(mediaType, StringComparison.OrdinalIgnoreCase) || type == "*/*")
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string NewSessionId()
        => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static async Task WriteErrorAsync(HttpContext http, int status, int code, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var body = new JsonRpcError { Id = default, Error = new JsonRpcErrorDetail { Code = code, Message = message } };
        await http.Response.WriteAsync(JsonSerializer.Serialize<JsonRpcMessage>(body, McpJsonUtilities.DefaultOptions), http.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP session failed")]
    private static partial void LogSessionFailed(ILogger logger, Exception exception);
}

/// <summary>What the MCP endpoints share.</summary>
internal sealed record McpHttpState(
    McpOptions Options,
    McpServerOptions ServerOptions,
    McpSessionStore Sessions,
    ILoggerFactory Loggers,
    TimeProvider Time,
    IServiceProvider Services,
    ILogger Logger,
    CancellationToken Stopping);
