using Messengers.Agents;
using Messengers.Agents.Agno;
using Messengers.Agents.Turns;
using Messengers.Agents.Echo;
using Messengers.Agents.HttpBot;
using Messengers.Agents.OpenAi;
using Messengers.Agents.Reliability;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
    /// Registers what the chats' agent turns (<see cref="ChatAgentGrain"/>) need besides the backends: their
    /// <see cref="AgentBridgeOptions"/> and the silo's <see cref="AgentCallLimiter"/>. The dead-letter store comes with
    /// the data registration.
    /// </summary>
    public static IServiceCollection AddAgentTurns(this IServiceCollection services, Action<AgentBridgeOptions>? configure = null)
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
        services.TryAddSingleton<AgentCallLimiter>();
        return services;
    }
}
