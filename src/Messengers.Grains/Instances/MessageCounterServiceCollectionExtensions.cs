using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Runtime;

namespace Messengers.Grains.Instances;

public static class MessageCounterServiceCollectionExtensions
{
    /// <summary>The silo's <see cref="MessageCounter"/>, which also takes part in the silo's stop.</summary>
    public static IServiceCollection AddMessageCounter(this IServiceCollection services)
    {
        services.TryAddSingleton<MessageCounter>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<MessageCounter>());
        return services;
    }
}
