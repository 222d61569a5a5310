using Orleans.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messengers.Providers.WebChat;

public static class WebChatServiceCollectionExtensions
{
    /// <summary>The silo's web-chat hub, and its hosted service that renews the hub's registrations with the cluster.</summary>
    public static IServiceCollection AddWebChatHub(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(WebChatHub)))
        {
            services.AddSingleton<WebChatHub>();
            services.AddHostedService(sp => sp.GetRequiredService<WebChatHub>());
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WebChatHub>());
        }

        return services;
    }
}
