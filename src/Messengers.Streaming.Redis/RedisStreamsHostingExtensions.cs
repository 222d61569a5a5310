using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime.Providers;

namespace Messengers.Streaming.Redis;

/// <summary>Registers a Redis Streams persistent stream provider on a silo or a client.</summary>
public static class RedisStreamsHostingExtensions
{
    /// <summary>Adds the Redis Streams provider <paramref name="name"/> to the silo.</summary>
    public static ISiloBuilder AddRedisStreams(this ISiloBuilder builder, string name, Action<RedisStreamOptions> configureOptions)
        => builder.AddRedisStreams(name, configureOptions, configureStream: null);

    /// <summary>
    /// Adds the Redis Streams provider <paramref name="name"/> to the silo; <paramref name="configureStream"/> reaches the Orleans
    /// persistent-stream settings, e.g. <c>c =&gt; c.ConfigurePullingAgent(o =&gt; o.Configure(p =&gt; p.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(20)))</c>,
    /// <c>c.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly)</c>, or another queue balancer.
    /// </summary>
    public static ISiloBuilder AddRedisStreams(
        this ISiloBuilder builder,
        string name,
        Action<RedisStreamOptions> configureOptions,
        Action<ISiloPersistentStreamConfigurator>? configureStream)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configureOptions);
        builder.Services.AddOptions<RedisStreamOptions>(name).Configure(configureOptions);
        builder.Services.AddSingleton<IConfigurationValidator>(services => new RedisStreamOptionsValidator(name, services, isSilo: true));
        builder.AddPersistentStreams(name, RedisQueueAdapterFactory.Create, configurator =>
        {
            configurator.ConfigureBackoffProvider((services, providerName) =>
            {
                var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<RedisStreamOptions>>().Get(providerName);
                return (IQueueReaderBackoffProvider)new RedisQueueReaderBackoff(options.ReadErrorBackoffMin, options.ReadErrorBackoffMax);
            });
            configureStream?.Invoke(configurator);
        });
        return builder;
    }

    /// <summary>Adds the Redis Streams provider <paramref name="name"/> to a client, so it can produce (same name and options as the silos).</summary>
    public static IClientBuilder AddRedisStreams(this IClientBuilder builder, string name, Action<RedisStreamOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configureOptions);
        builder.Services.AddOptions<RedisStreamOptions>(name).Configure(configureOptions);
        builder.Services.AddSingleton<IConfigurationValidator>(services => new RedisStreamOptionsValidator(name, services, isSilo: false));
        builder.AddPersistentStreams(name, RedisQueueAdapterFactory.Create, configureStream: null);
        return builder;
    }
}
