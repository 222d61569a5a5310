using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using Messengers.Abstractions.Security;
using Messengers.Agents;
using Messengers.Agents.Bridge;
using Messengers.Grains.Hosting;
using Messengers.Grains.Instances;
using Messengers.Grains.Messages;
using Messengers.Grains.Security;
using Messengers.Host.Api;
using Messengers.Host.Mcp;
using Messengers.Providers;
using Messengers.Runtime.Hosting;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Streams;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;

namespace Messengers.Host.Hosting;

/// <summary>The wiring of the host; Program.cs stays a few lines.</summary>
public static class MessengersHostExtensions
{
    public static WebApplicationBuilder AddMessengers(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(MessengersOptions.Section).Get<MessengersOptions>() ?? new MessengersOptions();
        options.DataPath = Path.GetFullPath(options.DataPath);
        Directory.CreateDirectory(options.DataPath);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(AdminKey.Load(options));
        builder.Services.AddSingleton<ISecretProtector>(AesGcmSecretProtector.FromConfiguration(options.EncryptionKey, options.DataPath));
        builder.Services.AddSingleton(TimeProvider.System);

        builder.Services.AddSilo(silo =>
        {
            silo.Configure(runtime => builder.Configuration.GetSection("Messengers:Runtime").Bind(runtime));
            silo.AddGrainsFromAssembly(typeof(InstanceGrain).Assembly);
            silo.AddGrainsFromAssembly(typeof(Providers.Telegram.TelegramWebhookGrain).Assembly);
            ConfigureStorage(silo, options, builder.Configuration);
            ConfigureStreams(silo, options, builder.Configuration);
        });
        builder.Services.AddFileMediaStore(options.DataPath);
        builder.Services.AddSingleton<MessengerProviders>();
        builder.Services.AddMessengerProviders();
        builder.Services.Configure<Providers.Telegram.TelegramOptions>(builder.Configuration.GetSection("Messengers:Telegram"));
        builder.Services.AddAgentBackends(agents => builder.Configuration.GetSection("Messengers:Agents").Bind(agents));
        builder.Services.AddHostedService<StartupServices>();
        builder.Services.AddAgentBridge(bridge => builder.Configuration.GetSection("Messengers:Agents:Bridge").Bind(bridge));
        builder.Services.AddMessengersWebhooks(builder.Configuration);
        builder.Services.AddSingleton<VisitorRateLimiter>();
        builder.Services.AddMediaDownloader(builder.Configuration);
        builder.Services.AddSingleton(sp => new McpToolAccess(sp.GetRequiredService<IConfiguration>().GetSection(McpOptions.Section).Get<McpOptions>() ?? new McpOptions()));
        builder.Services.AddSingleton<LiveFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LiveFeed>());

        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
        });
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = 16 * 1024 * 1024);
        // Binding failures (bad JSON, unknown fields) reach ApiExceptionHandler, which says what is wrong.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.AddOpenApi();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var key = http.Request.Headers.Authorization.ToString();
                return key.Length == 0 || !http.Request.Path.StartsWithSegments("/api")
                    ? RateLimitPartition.GetNoLimiter("anonymous")
                    : RateLimitPartition.GetFixedWindowLimiter(ApiKeys.Hash(key), _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RequestsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            limiter.OnRejected = async (context, token) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) : "60";
                await TypedResults.Problem(title: "Too many requests", detail: $"This key may make {options.RequestsPerMinute} requests per minute.", statusCode: 429).ExecuteAsync(context.HttpContext);
            };
        });
        return builder;
    }

    public static WebApplication UseMessengers(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseApiStatusCodePages();
        app.UseRateLimiter();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapGet("/health", () => TypedResults.Ok(new { status = "ok" })).ExcludeFromDescription();
        app.MapInstancesApi();
        app.MapMessagesApi();
        app.MapGroupsApi();
        app.MapWebChatApi();
        app.MapEventsApi();
        app.MapWebhooksApi();
        app.MapTelegramHooksApi();
        app.MapAgentApi();
        app.MapMcpEndpoints();

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var urls = string.Join(", ", app.Urls);
            var adminKey = app.Services.GetRequiredService<AdminKey>();
            var options = app.Services.GetRequiredService<MessengersOptions>();
            // Console, not the logger: the generated key must be shown exactly once and never land in log files.
            Console.WriteLine($"Messengers is running at {urls} (storage: {options.Storage}, streams: {options.Streams}, data: {options.DataPath}).");
            if (adminKey.GeneratedKey is { } key)
            {
                Console.WriteLine($"Admin API key (shown once, stored hashed): {key}");
            }
        });
        return app;
    }

    private static void ConfigureStorage(ISiloBuilder silo, MessengersOptions options, IConfiguration configuration)
    {
        switch (options.Storage.ToLowerInvariant())
        {
            case "sqlite":
                var file = Path.Combine(options.DataPath, "messengers.db");
                silo.AddSqliteGrainStorage(StorageNames.Default, file);
                silo.AddSqliteMessageStore(file);
                break;
            case "postgres":
                var connection = configuration.GetConnectionString("Postgres")
                    ?? throw new InvalidOperationException("Messengers:Storage is 'postgres' but ConnectionStrings:Postgres is not set.");
                silo.AddPostgresGrainStorage(StorageNames.Default, connection);
                silo.AddPostgresMessageStore(connection);
                break;
            default:
                throw new InvalidOperationException($"Messengers:Storage must be 'sqlite' or 'postgres', not '{options.Storage}'.");
        }
    }

    private static void ConfigureStreams(ISiloBuilder silo, MessengersOptions options, IConfiguration configuration)
    {
        switch (options.Streams.ToLowerInvariant())
        {
            case "memory":
                silo.AddMemoryStreams(StreamNames.DefaultProvider);
                break;
            case "redis":
                var connection = configuration.GetConnectionString("Redis")
                    ?? throw new InvalidOperationException("Messengers:Streams is 'redis' but ConnectionStrings:Redis is not set.");
                silo.AddRedisStreams(StreamNames.DefaultProvider, connection);
                break;
            default:
                throw new InvalidOperationException($"Messengers:Streams must be 'memory' or 'redis', not '{options.Streams}'.");
        }
    }
}

/// <summary>Maps domain failures to problem+json with a clear status; nothing surfaces as a bare 500.</summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => (415, "Unsupported media type", ApiProblems.UnsupportedMediaTypeDetail(httpContext)),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.InnerException is System.Text.Json.JsonException json ? $"The body is not valid: {json.Message}" : bad.Message),
            System.Text.Json.JsonException json => (400, "Bad request", $"The body is not valid: {json.Message}"),
            InstanceNotFoundException => (404, "Not found", exception.Message),
            InstanceExistsException => (409, "Conflict", exception.Message),
            Abstractions.Providers.InstanceNotReadyException => (409, "Instance not ready", exception.Message),
            Abstractions.Providers.CapabilityNotSupportedException => (422, "Not supported by this provider", exception.Message),
            Abstractions.Providers.MessengerRequestException { NotFound: true } => (404, "Not found", exception.Message),
            Abstractions.Providers.MessengerRequestException => (422, "Refused by the messenger", exception.Message),
            Runtime.GrainCallTimeoutException => (504, "Timed out", "The operation did not complete in time; it may still complete. Try again."),
            GrainStorageException => (503, "Storage unavailable", "The database is unavailable right now; try again shortly."),
            _ => (500, "Internal error", "An unexpected error occurred; it was logged."),
        };
        if (status >= 500)
        {
            logger.LogError(exception, "Request {Method} {Path} failed", httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
