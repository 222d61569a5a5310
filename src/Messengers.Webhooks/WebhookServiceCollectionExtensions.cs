using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Messengers.Webhooks;

/// <summary>Registers webhooks: options, the event writer and the dispatcher. The store comes with the data registration; the consumer grains are found by Orleans.</summary>
public static class WebhookServiceCollectionExtensions
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services, Action<WebhookOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new WebhookOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WebhookDispatcher>();
        services.TryAddSingleton<WebhookEventWriter>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}
