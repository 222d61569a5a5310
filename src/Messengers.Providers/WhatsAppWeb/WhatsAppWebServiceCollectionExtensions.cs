using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Abstractions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace Messengers.Providers.WhatsAppWeb;

public static class WhatsAppWebServiceCollectionExtensions
{
    /// <summary>
    /// The WhatsApp Web provider: options from <c>Messengers:WhatsAppWeb</c> (bound when an IConfiguration is registered),
    /// the shared browser pool, and sessions and account leases in the default grain storage. The browser starts with the first instance.
    /// </summary>
    public static IServiceCollection AddWhatsAppWebProvider(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<WhatsAppWebOptions>().Configure<IServiceProvider>((options, provider) =>
            provider.GetService<IConfiguration>()?.GetSection(WhatsAppWebOptions.Section).Bind(options));
        services.TryAddSingleton<BrowserPool>();
        services.TryAddSingleton<IWhatsAppSessionStore>(provider => new GrainStorageWhatsAppSessionStore(
            provider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains),
            provider.GetRequiredService<ISecretProtector>(),
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IWhatsAppAccountLeases>(provider => new GrainStorageWhatsAppAccountLeases(
            provider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains),
            provider.GetService<ILocalSiloDetails>()?.Name ?? Environment.MachineName,
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMessengerProvider, WhatsAppWebProvider>());
        return services;
    }
}
