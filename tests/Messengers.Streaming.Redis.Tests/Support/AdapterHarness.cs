using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>
/// The provider's factory, adapter and receivers outside a silo, the way a pulling agent drives them, for contract tests
/// that need to call <see cref="IQueueAdapterReceiver"/> directly (each harness plays one silo).
/// </summary>
public sealed class AdapterHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly RedisQueueAdapterFactory _factory;

    private AdapterHarness(ServiceProvider services, RedisQueueAdapterFactory factory, IQueueAdapter adapter, LogSink logs)
    {
        _services = services;
        _factory = factory;
        Adapter = adapter;
        Logs = logs;
    }

    public IQueueAdapter Adapter { get; }

    public LogSink Logs { get; }

    public IStreamQueueMapper Mapper => _factory.GetStreamQueueMapper();

    public static async Task<AdapterHarness> StartAsync(string connectionString, string serviceId, Action<RedisStreamOptions>? configure = null)
    {
        var logs = new LogSink();
        var services = new ServiceCollection()
            .AddSerializer()
            .AddLogging(logging => logging.AddProvider(new CapturingLoggerProvider(logs, "harness")).SetMinimumLevel(LogLevel.Debug))
            .BuildServiceProvider();
        var options = new RedisStreamOptions
        {
            // Short timeouts: a command to a dead server fails in about a second instead of five.
            ConnectionString = connectionString + ",connectTimeout=1000,asyncTimeout=1000,syncTimeout=1000",
            KeyPrefix = "contract",
            QueueCount = 1,
        };
        configure?.Invoke(options);
        var factory = new RedisQueueAdapterFactory(
            "contract",
            serviceId,
            options,
            services,
            services.GetRequiredService<Serializer<RedisStreamBatchContainer>>(),
            services.GetRequiredService<ILoggerFactory>(),
            TimeProvider.System);
        var adapter = await factory.CreateAdapter(CancellationToken.None);
        return new AdapterHarness(services, factory, adapter, logs);
    }

    public QueueId Queue => Mapper.GetAllQueues().First();

    public async Task<IQueueAdapterReceiver> StartReceiverAsync(QueueId? queue = null)
    {
        var receiver = Adapter.CreateReceiver(queue ?? Queue);
        await receiver.Initialize(TimeSpan.FromSeconds(5));
        return receiver;
    }

    public Task ProduceAsync(StreamId stream, int number) => Adapter.QueueMessageBatchAsync(stream, [new TestEvent(number)], null, null);

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _services.DisposeAsync();
    }
}
