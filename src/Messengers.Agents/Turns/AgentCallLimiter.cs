using Microsoft.Extensions.Options;

namespace Messengers.Agents.Turns;

/// <summary>
/// Bounds the agent calls running at once in this silo, across all instances and chats (a chat has at most one), and
/// counts the calls that failed.
/// </summary>
public sealed class AgentCallLimiter(IOptions<AgentBridgeOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _calls = new(options.Value.MaxCallsInFlight, options.Value.MaxCallsInFlight);
    private long _failedCalls;

    /// <summary>Agent calls that failed since start (each retried or dead-lettered).</summary>
    public long FailedCalls => Interlocked.Read(ref _failedCalls);

    public Task WaitAsync(CancellationToken cancellationToken) => _calls.WaitAsync(cancellationToken);

    public void Release() => _calls.Release();

    public void CountFailure() => Interlocked.Increment(ref _failedCalls);

    public void Dispose() => _calls.Dispose();
}
