using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// Options of one Redis Streams provider, bound by provider name (<c>AddRedisStreams(name, ...)</c>).
/// Set exactly one of <see cref="ConnectionString"/> and <see cref="ConnectionFactory"/>.
/// </summary>
public sealed class RedisStreamOptions
{
    /// <summary>
    /// StackExchange.Redis configuration string, e.g. <c>"127.0.0.1:6379,password=...,asyncTimeout=2000"</c>.
    /// The provider opens one <see cref="IConnectionMultiplexer"/> for itself, always with <c>abortConnect=false</c>
    /// (a silo starts while Redis is down and reconnects by itself), and disposes it with the silo.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Supplies a connection the application owns (for example one shared from DI). The provider never disposes it.
    /// Create it with <c>AbortOnConnectFail = false</c>.
    /// </summary>
    public Func<IServiceProvider, Task<IConnectionMultiplexer>>? ConnectionFactory { get; set; }

    /// <summary>First segment of every key: <c>{KeyPrefix}:{ServiceId}:{provider}:{queue}</c>. Default <c>"orleans-streams"</c>.</summary>
    public string KeyPrefix { get; set; } = "orleans-streams";

    /// <summary>
    /// Number of queues, i.e. Redis stream keys (a stream id is hashed onto one of them, see HashRingBasedStreamQueueMapper).
    /// Never change it on a running deployment: streams would move to other keys and strand their pending entries. Default 8.
    /// </summary>
    public int QueueCount { get; set; } = 8;

    /// <summary>
    /// <c>XADD ... MAXLEN ~ n</c>: each queue keeps about this many newest entries (Redis trims whole nodes, so a little more).
    /// Entries trimmed before they were delivered are lost (logged when noticed). <c>null</c> = unbounded. Default 100,000.
    /// </summary>
    public long? MaxStreamLength { get; set; } = 100_000;

    /// <summary>Most entries one <c>XREADGROUP</c> fetches (the pulling agent may ask for fewer). Default 256.</summary>
    public int ReadCount { get; set; } = 256;

    /// <summary>
    /// How often a receiver re-reads its pending entries list from id 0 while it has nothing in flight, to pick up entries that
    /// were read but never acknowledged by an earlier owner during a hand-off overlap, or whose read reply was lost. Default 10 s.
    /// (The list is always read from 0 first when a silo takes a queue.)
    /// </summary>
    public TimeSpan PendingRecoveryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Redis consumer group name used on every queue key. Default <c>"orleans"</c>.</summary>
    public string ConsumerGroup { get; set; } = "orleans";

    /// <summary><c>MAXLEN ~</c> of the dead-letter stream (<c>{KeyPrefix}:{ServiceId}:{provider}:dead</c>). Default 100,000.</summary>
    public long DeadLetterMaxLength { get; set; } = 100_000;

    /// <summary>Entries cached per queue by Orleans' SimpleQueueCache (back-pressure limit). Default 4,096.</summary>
    public int CacheSize { get; set; } = 4096;

    /// <summary>
    /// First wait of the pulling agent after a failed read (then doubling with jitter up to <see cref="ReadErrorBackoffMax"/>).
    /// Orleans' own default is 10–20 s, too slow to come back after a Redis blip. Default 100 ms.
    /// </summary>
    public TimeSpan ReadErrorBackoffMin { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait of the pulling agent between failed reads. Default 5 s.</summary>
    public TimeSpan ReadErrorBackoffMax { get; set; } = TimeSpan.FromSeconds(5);
}
