using Messengers.Streaming.Redis.Tests.Support;
using Orleans.Runtime;

namespace Messengers.Streaming.Redis.Tests;

/// <summary>Misconfigured providers fail the silo at start-up with a message naming every problem.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public async Task InvalidOptions_SiloStarts_FailsWithOneMessageNamingEachProblem()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StreamingCluster.StartAsync(1,
        [
            new("broken", o =>
            {
                o.ConnectionString = null;
                o.QueueCount = 0;
                o.KeyPrefix = " ";
                o.MaxStreamLength = 0;
                o.PendingRecoveryInterval = TimeSpan.Zero;
            }),
        ]));

        var configuration = FindConfigurationException(error);
        Assert.NotNull(configuration);
        TestContext.Current.TestOutputHelper?.WriteLine(configuration.Message);
        Assert.StartsWith("Redis stream provider 'broken' is misconfigured:", configuration.Message, StringComparison.Ordinal);
        Assert.Contains("Set exactly one of ConnectionString and ConnectionFactory.", configuration.Message, StringComparison.Ordinal);
        Assert.Contains("QueueCount must be at least 1 (was 0).", configuration.Message, StringComparison.Ordinal);
        Assert.Contains("KeyPrefix must not be empty.", configuration.Message, StringComparison.Ordinal);
        Assert.Contains("MaxStreamLength must be at least 1", configuration.Message, StringComparison.Ordinal);
        Assert.Contains("PendingRecoveryInterval must be positive", configuration.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BatchedPullingAgentDelivery_SiloStarts_FailsBecauseDeadLettersArePerEntry()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StreamingCluster.StartAsync(1,
        [
            new("batched", o => o.ConnectionString = "127.0.0.1:1", p => p.BatchContainerBatchSize = 10),
        ]));

        var configuration = FindConfigurationException(error);
        Assert.NotNull(configuration);
        Assert.Contains("BatchContainerBatchSize must stay 1 (was 10)", configuration.Message, StringComparison.Ordinal);
    }

    private static OrleansConfigurationException? FindConfigurationException(Exception? exception)
    {
        while (exception is not null)
        {
            if (exception is OrleansConfigurationException configuration)
            {
                return configuration;
            }

            if (exception is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(FindConfigurationException).FirstOrDefault(found => found is not null);
            }

            exception = exception.InnerException;
        }

        return null;
    }
}
