using StackExchange.Redis;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>Looks at (and sometimes writes into) the provider's keys with a connection of the test's own.</summary>
public sealed class RedisInspector : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _connection;

    private RedisInspector(ConnectionMultiplexer connection) => _connection = connection;

    public IDatabase Database => _connection.GetDatabase();

    public static async Task<RedisInspector> ConnectAsync(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        return new RedisInspector(await ConnectionMultiplexer.ConnectAsync(options));
    }

    /// <summary>Entries read under the group but not acknowledged (XPENDING count); 0 when the key or group does not exist.</summary>
    public async Task<long> PendingAsync(string key, string group = "orleans")
    {
        try
        {
            return (await Database.StreamPendingAsync(key, group)).PendingMessageCount;
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            return 0;
        }
    }

    public async Task<long> PendingAsync(IEnumerable<string> keys, string group = "orleans")
    {
        long total = 0;
        foreach (var key in keys)
        {
            total += await PendingAsync(key, group);
        }

        return total;
    }

    public Task<long> LengthAsync(string key) => Database.StreamLengthAsync(key);

    public Task<StreamEntry[]> EntriesAsync(string key) => Database.StreamRangeAsync(key);

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync();
}
