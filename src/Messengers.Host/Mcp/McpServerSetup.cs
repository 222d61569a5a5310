using Messengers.Host.Hosting;
using Microsoft.AspNetCore.Routing.Patterns;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// The MCP server on the SDK (ModelContextProtocol.AspNetCore): tools, resources, per-key filters and the HTTP transport,
/// shared by the web host (<see cref="MapMessengersMcp"/>) and stdio mode (<see cref="McpStdio"/>).
/// </summary>
public static class McpServerSetup
{
    public const string ServerName = "Messengers";

    /// <summary>Who may use the MCP endpoints: any valid key through <see cref="ApiKeyAuthenticationOptions.McpScheme"/>.</summary>
    public const string Policy = "mcp";

    private const string Instructions =
        "Messengers connects messenger accounts (instances: WhatsApp, Telegram bots, web chat) to AI agents. "
        + "With an instance API key every tool works on that instance. With the admin key, call list_instances first and pass the id as 'instance'. "
        + "Read history with get_chats and get_messages; send with send_message, send_group_message or send_telegram_message. "
        + "If a tool says the instance is not ready, check get_instance_status (and get_qr_code for WhatsApp pairing).";

    public static IMcpServerBuilder AddMessengersMcp(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(McpOptions.Section).Get<McpOptions>() ?? new McpOptions();
        services.AddSingleton(options);
        services.AddSingleton<McpToolAccess>();
        services.AddSingleton<McpSessionLimiter>();
        services.AddTransient<McpToolKit>();
        services.AddTransient<McpData>();

        // The SDK answers a legacy SSE message from another key with Results.Forbid(), which needs a default forbid scheme.
        services.AddAuthentication(o => o.DefaultForbidScheme = ApiKeyAuthenticationOptions.McpScheme)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationOptions.McpScheme, o => o.AllowAnonymous = options.AllowAnonymous);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationOptions.McpScheme).RequireAuthenticatedUser());

        // Stateful members are obsolete in 2.4 (MCP9004 legacy SSE, MCP9006 sessions, MCPEXP002 the session run hook):
        // Agno, the Node SDK 1.x, the Inspector and wweb-mcp clients still need sessions and SSE.
#pragma warning disable MCP9004, MCP9006, MCPEXP002
        services.AddOptions<HttpServerTransportOptions>().Configure<McpSessionLimiter>((http, limiter) =>
        {
            http.SessionMode = HttpServerSessionMode.StatefulForInitializeClients;
            http.EnableLegacySse = true;
            http.IdleTimeout = options.SessionIdleTimeout;
            http.MaxIdleSessionCount = options.MaxSessions;
            http.ConfigureSessionOptions = limiter.ConfigureSessionAsync;
            http.RunSessionHandler = limiter.RunSessionAsync;
        });
#pragma warning restore MCP9004, MCP9006, MCPEXP002

        return services
            .AddMcpServer(server =>
            {
                server.ServerInfo = new Implementation { Name = ServerName, Version = typeof(McpServerSetup).Assembly.GetName().Version?.ToString(3) ?? "1.0.0" };
                server.ServerInstructions = Instructions;
            })
            .WithHttpTransport()
            .WithTools<WhatsAppTools>()
            .WithTools<InstanceTools>()
            .WithListResourcesHandler(McpResources.ListAsync)
            .WithListResourceTemplatesHandler(McpResources.ListTemplatesAsync)
            .WithReadResourceHandler(McpResources.ReadAsync)
            .WithRequestFilters(filters => filters
                .AddListToolsFilter(next => (context, ct) => McpToolAccess.ListToolsAsync(next, context, ct))
                .AddCallToolFilter(next => (context, ct) => Access(context).CallToolAsync(next, context, ct))
                .AddCallToolFilter(next => (context, ct) => McpToolArguments.ValidateAsync(next, context, ct)));
    }

    /// <summary>
    /// Streamable HTTP at <c>/mcp</c> (sessionless 2026-07-28 requests and initialize + Mcp-Session-Id sessions) and the
    /// legacy SSE pair at <c>/sse</c> and <c>/message</c>, where wweb-mcp clients have always found it (the SDK maps them
    /// under the Streamable HTTP path; they are moved to the root here). Every route needs a valid key.
    /// </summary>
    public static IEndpointConventionBuilder MapMessengersMcp(this IEndpointRouteBuilder app)
    {
        var mcp = app.MapMcp("/mcp");
        mcp.Add(endpoint =>
        {
            if (endpoint is RouteEndpointBuilder route
                && route.RoutePattern.PathSegments is [_, { Parts: [RoutePatternLiteralPart { Content: "sse" or "message" } legacy] }])
            {
                route.RoutePattern = RoutePatternFactory.Parse("/" + legacy.Content);
            }
        });
        return mcp.RequireAuthorization(Policy).ExcludeFromDescription();
    }

    private static McpToolAccess Access(MessageContext context)
        => (context.Services ?? throw new InvalidOperationException("No services for this MCP request.")).GetRequiredService<McpToolAccess>();
}
