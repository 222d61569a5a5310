using StackExchange.Redis;

namespace Messengers.Streaming.Redis;

/// <summary>
/// The provider's one Redis connection: opened on first use from <see cref="RedisStreamOptions.ConnectionString"/>
/// (<c>abortConnect=false</c>, so it exists while Redis is down and reconnects by itself) and disposed with the provider,
/// or taken from <see cref="RedisStreamOptions.ConnectionFactory"/> and left to its owner.
/// </summary>
internal sealed class RedisStreamConnection(RedisStreamOptions options, IServiceProvider services) : IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _owned;
    private bool _disposed;

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var multiplexer = Volatile.Read(ref _multiplexer) ?? await ConnectAsync(cancellationToken);
        return multiplexer.GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            _disposed = true;
            if (_owned && _multiplexer is not null)
            {
                await _multiplexer.DisposeAsync();
            }

            _multiplexer = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Wait();
        try
        {
            _disposed = true;
            if (_owned)
            {
                _multiplexer?.Dispose();
            }

            _multiplexer = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_multiplexer is not null)
            {
                return _multiplexer;
            }

            IConnectionMultiplexer multiplexer;
            if (options.ConnectionFactory is { } factory)
            {
                multiplexer = await factory(services);
                _owned = false;
            }
            else
            {
                var configuration = ConfigurationOptions.Parse(options.ConnectionString!);
                configuration.AbortOnConnectFail = false;
                multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
                _owned = true;
            }

            Volatile.Write(ref _multiplexer, multiplexer);
            return multiplexer;
        }
        finally
        {
            _gate.Release();
        }
    }
}
