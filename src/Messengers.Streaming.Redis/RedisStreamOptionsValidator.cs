using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Checks a provider's <see cref="RedisStreamOptions"/> (and, on silos, the pulling-agent options it relies on) when the
/// silo or client starts, and fails the start with one message listing every problem.
/// </summary>
internal sealed class RedisStreamOptionsValidator(string name, IServiceProvider services, bool isSilo) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        var options = services.GetRequiredService<IOptionsMonitor<RedisStreamOptions>>().Get(name);
        var errors = new List<string>();
        var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
        if (hasConnectionString == (options.ConnectionFactory is not null))
        {
            errors.Add($"Set exactly one of {nameof(RedisStreamOptions.ConnectionString)} and {nameof(RedisStreamOptions.ConnectionFactory)}.");
        }
        else if (hasConnectionString)
        {
            try
            {
                if (ConfigurationOptions.Parse(options.ConnectionString!).EndPoints.Count == 0)
                {
                    errors.Add($"{nameof(RedisStreamOptions.ConnectionString)} names no endpoint (host:port).");
                }
            }
            catch (ArgumentException exception)
            {
                errors.Add($"{nameof(RedisStreamOptions.ConnectionString)} is not a valid StackExchange.Redis configuration: {exception.Message}");
            }
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix))
        {
            errors.Add($"{nameof(RedisStreamOptions.KeyPrefix)} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ConsumerGroup))
        {
            errors.Add($"{nameof(RedisStreamOptions.ConsumerGroup)} must not be empty.");
        }

        if (options.QueueCount < 1)
        {
            errors.Add($"{nameof(RedisStreamOptions.QueueCount)} must be at least 1 (was {options.QueueCount}).");
        }

        if (options.MaxStreamLength is < 1)
        {
            errors.Add($"{nameof(RedisStreamOptions.MaxStreamLength)} must be at least 1, or null for unbounded (was {options.MaxStreamLength}).");
        }

        if (options.DeadLetterMaxLength < 1)
        {
            errors.Add($"{nameof(RedisStreamOptions.DeadLetterMaxLength)} must be at least 1 (was {options.DeadLetterMaxLength}).");
        }

        if (options.ReadCount < 1)
        {
            errors.Add($"{nameof(RedisStreamOptions.ReadCount)} must be at least 1 (was {options.ReadCount}).");
        }

        if (options.CacheSize < 1)
        {
            errors.Add($"{nameof(RedisStreamOptions.CacheSize)} must be at least 1 (was {options.CacheSize}).");
        }

        if (options.PendingRecoveryInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(RedisStreamOptions.PendingRecoveryInterval)} must be positive (was {options.PendingRecoveryInterval}).");
        }

        if (options.ReadErrorBackoffMin <= TimeSpan.Zero || options.ReadErrorBackoffMax < options.ReadErrorBackoffMin)
        {
            errors.Add($"{nameof(RedisStreamOptions.ReadErrorBackoffMin)} must be positive and at most {nameof(RedisStreamOptions.ReadErrorBackoffMax)} (were {options.ReadErrorBackoffMin} and {options.ReadErrorBackoffMax}).");
        }

        if (isSilo)
        {
            var pullingAgent = services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get(name);
            if (pullingAgent.BatchContainerBatchSize != 1)
            {
                errors.Add($"StreamPullingAgentOptions.BatchContainerBatchSize must stay 1 (was {pullingAgent.BatchContainerBatchSize}): failed deliveries are dead-lettered entry by entry.");
            }
        }

        if (errors.Count > 0)
        {
            throw new OrleansConfigurationException($"Redis stream provider '{name}' is misconfigured: {string.Join(" ", errors)}");
        }
    }
}
