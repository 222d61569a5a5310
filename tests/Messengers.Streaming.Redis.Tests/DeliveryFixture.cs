using Messengers.Streaming.Redis.Tests.Support;
using Messengers.Testing;

namespace Messengers.Streaming.Redis.Tests;

/// <summary>
/// One redis-server and one single-silo cluster for the delivery tests, with a provider per concern so that tests do not
/// see each other's entries: <c>main</c> (4 queues), <c>acks</c> (1 queue), <c>poison</c> (1 queue, MaxEventDeliveryTime 2 s),
/// <c>bounded</c> (1 queue, MaxStreamLength 200), <c>garbage</c> (1 queue).
/// </summary>
public sealed class DeliveryFixture : IAsyncLifetime
{
    public const string Prefix = "test";
    public const string Main = "main";
    public const string Acks = "acks";
    public const string Poison = "poison";
    public const string Bounded = "bounded";
    public const string Garbage = "garbage";
    public const int BoundedLength = 200;

    private RedisServer? _redis;
    private StreamingCluster? _cluster;
    private RedisInspector? _inspector;

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("Not started.");

    public StreamingCluster Cluster => _cluster ?? throw new InvalidOperationException("Not started.");

    public RedisInspector Inspector => _inspector ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var connection = _redis.ConnectionString;
        _cluster = await StreamingCluster.StartAsync(1,
        [
            new(Main, o => { o.ConnectionString = connection; o.KeyPrefix = Prefix; o.QueueCount = 4; }),
            new(Acks, o => { o.ConnectionString = connection; o.KeyPrefix = Prefix; o.QueueCount = 1; }),
            new(Poison, o => { o.ConnectionString = connection; o.KeyPrefix = Prefix; o.QueueCount = 1; }, p => p.MaxEventDeliveryTime = TimeSpan.FromSeconds(2)),
            new(Bounded, o => { o.ConnectionString = connection; o.KeyPrefix = Prefix; o.QueueCount = 1; o.MaxStreamLength = BoundedLength; }),
            new(Garbage, o => { o.ConnectionString = connection; o.KeyPrefix = Prefix; o.QueueCount = 1; }),
        ]);
        _inspector = await RedisInspector.ConnectAsync(connection);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_inspector is not null)
            {
                await _inspector.DisposeAsync();
            }

            if (_cluster is not null)
            {
                await _cluster.DisposeAsync();
            }
        }
        finally
        {
            // Whatever happened above, never leave the redis-server process behind.
            if (_redis is not null)
            {
                await _redis.DisposeAsync();
            }
        }
    }
}
