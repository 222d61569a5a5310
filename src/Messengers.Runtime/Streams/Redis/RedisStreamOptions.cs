namespace Messengers.Runtime.Streams.Redis;

/// <summary>Settings of <see cref="RedisStreamProvider"/>.</summary>
public sealed class RedisStreamOptions
{
    /// <summary>First segment of every Redis key and channel the provider uses (see <see cref="RedisStreamProvider"/> for the layout).</summary>
    public string KeyPrefix { get; set; } = "msg";

    /// <summary>Entries kept per stream id at most (XADD MAXLEN ~); null keeps everything.</summary>
    public long? MaxLength { get; set; } = 100_000;

    /// <summary>Longest wait of one XREADGROUP BLOCK; consumers also wake earlier for retries, reclaims and new keys.</summary>
    public TimeSpan BlockTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often consumers re-read the namespace's key registry (new keys are normally announced over pub/sub at once).</summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest delay between attempts while Redis is unreachable (the delay doubles from 50 ms).</summary>
    public TimeSpan MaxErrorBackoff { get; set; } = TimeSpan.FromSeconds(2);
}
