using Messengers.Abstractions.Providers;
using Messengers.Providers.Telegram;
using Messengers.Providers.WebChat;
using Messengers.Providers.WhatsAppWeb;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messengers.Providers;

public static class ProviderServiceCollectionExtensions
{
    /// <summary>Registers the messenger providers of this assembly.</summary>
    public static IServiceCollection AddMessengerProviders(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddWebChatHub();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMessengerProvider, WebChatProvider>());
        services.AddOptions<TelegramOptions>()
            .Validate(o => string.IsNullOrEmpty(o.PublicUrl) || TelegramOptions.IsValidPublicUrl(o.PublicUrl), "Messengers:Telegram:PublicUrl must be an absolute http(s) URL without a query.")
            .Validate(o => o.HttpVersion is "1.1" or "2", "Messengers:Telegram:HttpVersion must be \"1.1\" or \"2\".")
            .Validate(o => TelegramOptions.IsValidApiBaseUrl(o.ApiBaseUrl), "Messengers:Telegram:ApiBaseUrl must be an absolute http(s) URL without a path, like http://localhost:8081.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMessengerProvider, TelegramProvider>());
        services.AddWhatsAppWebProvider();
        return services;
    }
}
