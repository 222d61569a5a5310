using Messengers.Agents;
using Messengers.Agents.Agno;
using Messengers.Agents.Bridge;
using Messengers.Agents.DeadLetters;
using Messengers.Agents.Echo;
using Messengers.Agents.HttpBot;
using Messengers.Agents.OpenAi;
using Messengers.Agents.Reliability;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Registers the agent backends ("agno", "openai", "http", "echo"), the <see cref="AgentBackends"/> registry,
    /// the shared retry/circuit policy and its <see cref="AgentBackendOptions"/>. Uses the <see cref="TimeProvider"/>
    /// registered in DI (the system clock when there is none).
    /// </summary>
    public static IServiceCollection AddAgentBackends(this IServiceCollection services, Action<AgentBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AgentBackendOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o =>
        {
            o.Validate();
            return true;
        });

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(AgentBackendOptions.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(15),
                AllowAutoRedirect = false,
            });
        services.TryAddSingleton<AgentCircuitBreakers>();
        services.TryAddSingleton<AgentCallRunner>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAgentBackend, AgnoBackend>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAgentBackend, OpenAiBackend>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAgentBackend, HttpBotBackend>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAgentBackend, EchoBackend>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAgentBackend, Messengers.Agents.RedisChannel.RedisChannelBackend>());
        services.TryAddSingleton<AgentBackends>();
        return services;
    }

    /// <summary>
    /// Registers the <see cref="AgentBridge"/> (a singleton and hosted service) with its <see cref="AgentBridgeOptions"/>
    /// and the <see cref="IAgentDeadLetterStore"/> on the registered <see cref="PostgresDatabase"/> or, when there is
    /// none, the <see cref="SqliteDatabase"/>. Needs <see cref="AddAgentBackends"/>, the silo and the message providers.
    /// </summary>
    public static IServiceCollection AddAgentBridge(this IServiceCollection services, Action<AgentBridgeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AgentBridgeOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o =>
        {
            o.Validate();
            return true;
        });
        services.TryAddSingleton<IAgentDeadLetterStore>(sp => sp.GetService<PostgresDatabase>() is { } postgres
            ? new PostgresAgentDeadLetterStore(postgres)
            : new SqliteAgentDeadLetterStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<AgentBridge>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<AgentBridge>());
        return services;
    }
}
