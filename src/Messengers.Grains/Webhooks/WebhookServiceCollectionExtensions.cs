using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Security;
using Messengers.Runtime;
using Messengers.Runtime.Catalog;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Storage.Sqlite;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Grains.Webhooks;

/// <summary>Registers webhooks: the store on the silo's database, the event writer and the dispatcher.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="IWebhookStore"/> on the registered <see cref="PostgresDatabase"/> or, when there is none, the
    /// <see cref="SqliteDatabase"/>; <see cref="WebhookEventWriter"/> (consumer group "webhooks" on the default stream
    /// provider) and <see cref="WebhookDispatcher"/> as hosted services. Needs <see cref="ISecretProtector"/>.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, Action<WebhookOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new WebhookOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton<IWebhookStore>(sp => sp.GetService<PostgresDatabase>() is { } postgres
            ? new PostgresWebhookStore(postgres, sp.GetRequiredService<ISecretProtector>())
            : new SqliteWebhookStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<ISecretProtector>()));
        services.TryAddSingleton(sp => new WebhookSubscriptionCache(
            sp.GetRequiredService<IWebhookStore>(),
            sp.GetRequiredService<WebhookOptions>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider),
            sp.GetService<Silo>()?.Options.SiloName ?? "local",
            sp.GetRequiredService<ILogger<WebhookSubscriptionCache>>()));
        services.TryAddSingleton(sp => new WebhookDispatcher(
            sp.GetRequiredService<IWebhookStore>(),
            sp.GetRequiredService<WebhookOptions>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILogger<WebhookDispatcher>>()));
        services.TryAddSingleton(sp =>
        {
            var grains = sp.GetRequiredService<IGrainFactory>();
            return new WebhookEventWriter(
                sp.GetRequiredService<IWebhookStore>(),
                sp.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider),
                sp.GetRequiredService<ILogger<WebhookEventWriter>>(),
                sp.GetRequiredService<WebhookDispatcher>(),
                async (instanceId, _) => (await grains.GetGrain<IInstanceGrain>(instanceId).GetAsync())?.Provider,
                sp.GetRequiredService<WebhookSubscriptionCache>());
        });
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WebhookSubscriptionCache>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WebhookEventWriter>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}
