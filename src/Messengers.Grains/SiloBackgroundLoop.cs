namespace Messengers.Grains;

/// <summary>
/// A silo service with one background loop: started once, cancelled and awaited when the service is disposed. The
/// services are registered as themselves and as lifecycle participants, so the container disposes them twice; the
/// second time does nothing.
/// </summary>
public abstract class SiloBackgroundLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    /// <summary>Cancelled when the service is disposed (or <see cref="StopLoopAsync"/> is called).</summary>
    protected CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _loop;
        await DisposeCoreAsync();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the loop on the thread pool; it should end when <see cref="Stopping"/> is cancelled.</summary>
    protected void StartLoop(Func<Task> loop) => _loop = Task.Run(loop, CancellationToken.None);

    /// <summary>Ends the loop early (a stopping silo), leaving the rest to <see cref="DisposeAsync"/>.</summary>
    protected Task StopLoopAsync() => _stop.CancelAsync();

    /// <summary>Releases what the derived service owns, after its loop has ended.</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;
}
