using System.Text.Json.Serialization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Data;
using Messengers.Data.Messages;
using Messengers.Data.Security;
using Messengers.Grains.Instances;
using Messengers.Host.Api;
using Messengers.Host.Mcp;
using Messengers.Providers;
using Microsoft.AspNetCore.Diagnostics;

namespace Messengers.Host.Hosting;

/// <summary>The wiring of the host; Program.cs stays a few lines.</summary>
public static class MessengersHostExtensions
{
    /// <summary>How long a stopping host may take (<c>Messengers:ShutdownTimeout</c>); below Kubernetes' 30 s default grace period.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(25);

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
        // The whole stop (connections handed over, grains deactivated, silo gone from membership) must end before
        // Kubernetes' default 30 s grace period turns into SIGKILL.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = builder.Configuration.GetValue("Messengers:ShutdownTimeout", DefaultShutdownTimeout));
        QuietOrleansLogs(builder);

        builder.UseOrleans(silo => MessengersSilo.Configure(silo, options, builder.Configuration));
        AddData(builder.Services, options, builder.Configuration);
        builder.Services.AddHostedService<LegacyGrainStateUpgrade>(); // after the silo has started, before anything is served
        builder.Services.AddSingleton<MessengerProviders>();
        builder.Services.AddMessageCounter();
        builder.Services.AddMessengerProviders();
        builder.Services.Configure<Providers.Telegram.TelegramOptions>(builder.Configuration.GetSection("Messengers:Telegram"));
        builder.Services.AddAgentBackends(agents => builder.Configuration.GetSection("Messengers:Agents").Bind(agents));
        builder.Services.AddSingleton<OutboxReplay>();
        builder.Services.AddSingleton<Grains.Placement.ISiloDeathHandler>(sp => sp.GetRequiredService<OutboxReplay>());
        builder.Services.AddHostedService<StartupServices>();
        builder.Services.AddAgentTurns(turns => builder.Configuration.GetSection("Messengers:Agents:Bridge").Bind(turns));
        builder.Services.AddMessengersWebhooks(builder.Configuration);
        builder.Services.AddSingleton<ClusterRateLimiter>();
        builder.Services.AddMediaDownloader(builder.Configuration);
        builder.Services.AddAuthentication().AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationOptions.Scheme, _ => { });
        builder.Services.AddMessengersMcp(builder.Configuration);
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
        return builder;
    }

    public static WebApplication UseMessengers(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseApiStatusCodePages();
        app.UseMiddleware<ApiKeyRateLimitMiddleware>();
        // Only endpoints with an authorization policy (MCP) use these; REST routes authenticate in their own filters.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapGet("/health", () => TypedResults.Ok(new { status = "ok" })).ExcludeFromDescription();
        app.MapInstancesApi();
        app.MapMessagesApi();
        app.MapGroupsApi();
        app.MapWebChatApi();
        app.MapEventsApi();
        app.MapClusterApi();
        app.MapWebhooksApi();
        app.MapTelegramHooksApi();
        app.MapAgentApi();
        app.MapMessengersMcp();

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

            if (options.Storage.Equals("postgres", StringComparison.OrdinalIgnoreCase) && (string.IsNullOrWhiteSpace(options.EncryptionKey) || string.IsNullOrEmpty(options.AdminKey)))
            {
                // Each silo would otherwise keep its own keys in its own data folder: credentials saved through one
                // could not be decrypted by another (its instances would not fail over), and admin keys would differ.
                app.Logger.LogWarning("Messengers:EncryptionKey and Messengers:AdminKey are not both set: this silo uses keys kept in its data folder, which other silos of a cluster do not share. Set both (the same on every silo) before running more than one.");
            }
        });
        return app;
    }

    /// <summary>The database of messages, outbox, webhooks and dead letters (the same one as the grain state), and the media store beside it.</summary>
    private static void AddData(IServiceCollection services, MessengersOptions options, ConfigurationManager configuration)
    {
        // A configured S3 bucket holds the media whatever the database: registered first, the defaults below yield to it.
        var s3 = configuration.GetSection(S3MediaStoreOptions.Section);
        if (s3.GetChildren().Any(c => !string.IsNullOrEmpty(c.Value)))
        {
            services.AddS3MediaStore(s3.Get<S3MediaStoreOptions>() ?? new S3MediaStoreOptions());
        }

        switch (options.Storage.ToLowerInvariant())
        {
            case "sqlite":
                services.AddSqliteData(Path.Combine(options.DataPath, "messengers.db"));
                services.AddFileMediaStore(options.DataPath);
                break;
            case "postgres":
                services.AddPostgresData(configuration.GetConnectionString("Postgres")
                    ?? throw new InvalidOperationException("Messengers:Storage is 'postgres' but ConnectionStrings:Postgres is not set."));
                services.AddPostgresMediaStore(); // media any silo received is served by every silo
                break;
            default:
                throw new InvalidOperationException($"Messengers:Storage must be 'sqlite' or 'postgres', not '{options.Storage}'.");
        }
    }

    /// <summary>
    /// Orleans writes its configuration and every membership step at Information; unless the configuration says
    /// otherwise, only its warnings reach the log.
    /// </summary>
    private static void QuietOrleansLogs(WebApplicationBuilder builder)
    {
        if (builder.Configuration["Logging:LogLevel:Orleans"] is null)
        {
            builder.Logging.AddFilter("Orleans", LogLevel.Warning);
            builder.Logging.AddFilter("Polly", LogLevel.Warning); // Orleans places grains through a Polly pipeline that logs every attempt
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
            InstanceNotReadyException => (409, "Instance not ready", exception.Message),
            CapabilityNotSupportedException => (422, "Not supported by this provider", exception.Message),
            MessengerRequestException { NotFound: true } => (404, "Not found", exception.Message),
            MessengerRequestException => (422, "Refused by the messenger", exception.Message),
            TimeoutException => (504, "Timed out", "The operation did not complete in time; it may still complete. Try again."),
            DatabaseException => (503, "Storage unavailable", "The database is unavailable right now; try again shortly."),
            McpSessionLimitException => (429, "Too many MCP sessions", exception.Message),
            MediaStoreException => (503, "Storage unavailable", "The media store is unavailable right now; try again shortly."),
            OrleansException { InnerException: System.Data.Common.DbException or DatabaseException } => (503, "Storage unavailable", "The database is unavailable right now; try again shortly."),
            Orleans.Runtime.SiloUnavailableException => (503, "Service unavailable", "The part of the cluster that holds this is restarting; try again shortly."),
            Orleans.Runtime.OrleansMessageRejectionException => (503, "Service unavailable", "This silo is stopping or the cluster is changing; try again (another silo answers)."),
            _ => (500, "Internal error", "An unexpected error occurred; it was logged."),
        };
        if (status == 429)
        {
            httpContext.Response.Headers.RetryAfter = "60"; // a session place frees when the key ends or idles out a session
        }
        else if (status == 503)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            logger.LogWarning("Request {Method} {Path} answered 503: {Reason}", httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        }
        else if (status >= 500)
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
