using Messengers.Host.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// <c>Messengers.Host mcp --stdio [--api-key KEY]</c>: the MCP server over stdin/stdout for desktop clients, with the same
/// configuration, data folder and grains as the web host but no HTTP listener. The key comes from <c>--api-key</c> or
/// the environment variable <c>MESSENGERS_API_KEY</c>; logs go to stderr, stdout carries only protocol frames.
/// </summary>
public static partial class McpStdio
{
    public const string KeyVariable = "MESSENGERS_API_KEY";

    public static bool IsRequested(string[] args)
        => args is not null && args.Length >= 2 && args[0] == "mcp" && args.Contains("--stdio");

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var (key, rest) = SplitArguments(args);
        key ??= Environment.GetEnvironmentVariable(KeyVariable);

        var builder = WebApplication.CreateBuilder(rest);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.UseServer(new NoServer());
        var holder = new CallerHolder();
        builder.Services.AddSingleton(_ => new McpFixedCaller(holder.Caller ?? throw new InvalidOperationException("The stdio caller is not known yet.")));
        builder.AddMessengers();

        await using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Messengers.Host.Mcp.McpStdio");
        await app.StartAsync();
        try
        {
            if (app.Services.GetRequiredService<AdminKey>().GeneratedKey is { } generated)
            {
                await Console.Error.WriteLineAsync($"Admin API key (shown once, stored hashed): {generated}");
            }

            holder.Caller = await AuthenticateAsync(app, key);
            if (holder.Caller is null)
            {
                LogRejected(logger, KeyVariable);
                return 2;
            }

            // The server the SDK builds from AddMessengersMcp (tools, resources, filters), on the SDK's stdio transport.
            var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<McpServerOptions>>().Value;
            var loggers = app.Services.GetRequiredService<ILoggerFactory>();
            await using var transport = new StdioServerTransport(options, loggers);
            await using var server = McpServer.Create(transport, options, loggers, app.Services);
            await server.RunAsync(app.Lifetime.ApplicationStopping);
            return 0;
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>The key through the MCP authentication scheme, as an HTTP request would present it (no key: anonymous if allowed).</summary>
    private static async Task<Caller?> AuthenticateAsync(WebApplication app, string? key)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        if (!string.IsNullOrEmpty(key))
        {
            http.Request.Headers.Authorization = "Bearer " + key;
        }

        var result = await http.AuthenticateAsync(ApiKeyAuthenticationOptions.McpScheme);
        return result.Succeeded ? CallerClaims.FromPrincipal(result.Principal) : null;
    }

    private static (string? Key, string[] Remaining) SplitArguments(string[] args)
    {
        string? key = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "mcp" when i == 0:
                case "--stdio":
                    break;
                case "--api-key" when i + 1 < args.Length:
                    key = args[++i];
                    break;
                default:
                    if (args[i].StartsWith("--api-key=", StringComparison.Ordinal))
                    {
                        key = args[i]["--api-key=".Length..];
                    }
                    else
                    {
                        rest.Add(args[i]);
                    }

                    break;
            }
        }

        return (key, [.. rest]);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "MCP stdio: no valid API key. Pass the admin key or an instance key with --api-key or the {Variable} environment variable.")]
    private static partial void LogRejected(ILogger logger, string variable);

    private sealed class CallerHolder
    {
        public Caller? Caller { get; set; }
    }

    /// <summary>Stdio mode serves no HTTP: the web host's services run without a listener.</summary>
    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}
