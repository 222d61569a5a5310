using Messengers.Runtime.Redis;
using Messengers.Runtime.Streams;
using Messengers.Runtime.Streams.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

// In the Hosting namespace, next to AddMemoryStreams, so that silo configuration finds it without another using.
namespace Messengers.Runtime.Hosting;

public static class RedisSiloBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="RedisStreamProvider"/> named <paramref name="name"/> on Redis at <paramref name="connectionString"/>
    /// (<see cref="RedisOptions"/> describes the format). Also registers the connection as a keyed singleton
    /// <see cref="RedisConnection"/> under <paramref name="name"/> and, unless one is registered already, as the default
    /// <see cref="RedisConnection"/> singleton for other features (one multiplexed socket per process).
    /// </summary>
    public static ISiloBuilder AddRedisStreams(this ISiloBuilder builder, string name, string connectionString, Action<RedisStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var redisOptions = RedisOptions.Parse(connectionString); // fail at start-up on a bad connection string
        var options = new RedisStreamOptions();
        configure?.Invoke(options);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddKeyedSingleton(name, (sp, _) => new RedisConnection(redisOptions, sp.GetService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.TryAddSingleton(sp => sp.GetRequiredKeyedService<RedisConnection>(name));
        builder.Services.AddKeyedSingleton<IStreamProvider>(name, (sp, _) => new RedisStreamProvider(
            name,
            sp.GetRequiredKeyedService<RedisConnection>(name),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        return builder;
    }
}
