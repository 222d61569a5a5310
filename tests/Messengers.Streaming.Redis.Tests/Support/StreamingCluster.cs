using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Streams;
using Orleans.TestingHost;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>
/// In-process silos (Orleans.TestingHost) with Redis stream providers, implicit-only pub/sub, a 20 ms poll period,
/// a shared <see cref="StreamRecorder"/> and captured logs; the cluster client has the same providers, so tests produce
/// from it.
/// </summary>
public sealed class StreamingCluster : IAsyncDisposable
{
    public static readonly TimeSpan PollPeriod = TimeSpan.FromMilliseconds(20);

    private StreamingCluster(InProcessTestCluster cluster, StreamRecorder recorder, LogSink logs)
    {
        Cluster = cluster;
        Recorder = recorder;
        Logs = logs;
    }

    public InProcessTestCluster Cluster { get; }

    public StreamRecorder Recorder { get; }

    public LogSink Logs { get; }

    public string ServiceId => Cluster.Options.ServiceId;

    public static async Task<StreamingCluster> StartAsync(
        short silos,
        IReadOnlyList<ProviderSpec> providers,
        Action<ClusterMembershipOptions>? membership = null)
    {
        var recorder = new StreamRecorder();
        var logs = new LogSink();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSiloHost((silo, host) =>
        {
            host.Logging.AddProvider(new CapturingLoggerProvider(logs, silo.SiloName));
            host.Logging.AddFilter("Messengers.Streaming.Redis", LogLevel.Debug);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton(recorder);
            if (membership is not null)
            {
                silo.Configure(membership);
            }

            foreach (var provider in providers)
            {
                silo.AddRedisStreams(provider.Name, provider.Options, stream =>
                {
                    stream.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
                    stream.ConfigurePullingAgent(pulling => pulling.Configure(options =>
                    {
                        options.GetQueueMsgsTimerPeriod = PollPeriod;
                        provider.PullingAgent?.Invoke(options);
                    }));
                });
            }
        });
        builder.ConfigureClient(client =>
        {
            foreach (var provider in providers)
            {
                client.AddRedisStreams(provider.Name, provider.Options);
            }
        });

        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return new StreamingCluster(cluster, recorder, logs);
    }

    public IAsyncStream<TestEvent> Stream(string provider, string streamNamespace, string key)
        => Cluster.Client.GetStreamProvider(provider).GetStream<TestEvent>(StreamId.Create(streamNamespace, key));

    public string QueueKey(string prefix, string provider, uint queue) => RedisStreamKeys.Queue(prefix, ServiceId, provider, queue);

    public string DeadLetterKey(string prefix, string provider) => RedisStreamKeys.DeadLetter(prefix, ServiceId, provider);

    public async ValueTask DisposeAsync()
    {
        Recorder.OpenGate();
        await Cluster.DisposeAsync();
    }
}
