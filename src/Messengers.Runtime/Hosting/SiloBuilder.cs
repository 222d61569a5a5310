using System.Reflection;
using Messengers.Runtime.Catalog;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messengers.Runtime.Hosting;

/// <summary>Configures the silo of this process, in the spirit of Orleans' ISiloBuilder.</summary>
public interface ISiloBuilder
{
    IServiceCollection Services { get; }
}

internal sealed class SiloBuilder(IServiceCollection services) : ISiloBuilder
{
    public IServiceCollection Services { get; } = services;
}

public static class SiloServiceCollectionExtensions
{
    /// <summary>Adds the grain runtime as a hosted service and <see cref="IGrainFactory"/>; <paramref name="configure"/> adds grains, storage and streams.</summary>
    public static IServiceCollection AddSilo(this IServiceCollection services, Action<ISiloBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<GrainRuntimeOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new Silo(
            sp,
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<GrainRuntimeOptions>>(),
            sp.GetServices<GrainClassRegistration>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IGrainFactory>(sp => sp.GetRequiredService<Silo>());
        services.AddHostedService(sp => sp.GetRequiredService<Silo>());
        configure(new SiloBuilder(services));
        return services;
    }
}

public static class SiloBuilderExtensions
{
    public static ISiloBuilder Configure(this ISiloBuilder builder, Action<GrainRuntimeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    public static ISiloBuilder AddGrain<TGrain>(this ISiloBuilder builder)
        where TGrain : Grain
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new GrainClassRegistration(typeof(TGrain)));
        return builder;
    }

    /// <summary>Adds every concrete grain class of <paramref name="assembly"/>.</summary>
    public static ISiloBuilder AddGrainsFromAssembly(this ISiloBuilder builder, Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(assembly);
        foreach (var type in assembly.GetTypes().Where(t => typeof(Grain).IsAssignableFrom(t) && !t.IsAbstract && !t.IsGenericTypeDefinition))
        {
            builder.Services.AddSingleton(new GrainClassRegistration(type));
        }

        return builder;
    }

    public static ISiloBuilder AddMemoryGrainStorage(this ISiloBuilder builder, string name = StorageNames.Default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddKeyedSingleton<IGrainStorage>(name, (_, _) => new MemoryGrainStorage());
        return builder;
    }

    public static ISiloBuilder AddMemoryStreams(this ISiloBuilder builder, string name = StreamNames.DefaultProvider)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddKeyedSingleton<IStreamProvider>(name, (sp, _) => ActivatorUtilities.CreateInstance<MemoryStreamProvider>(sp, name));
        return builder;
    }
}
