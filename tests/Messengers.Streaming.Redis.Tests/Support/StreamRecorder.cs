using System.Collections.Concurrent;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>
/// What the consumer grains received, shared by every silo of a test cluster (one instance registered in each silo's DI),
/// and the gate that <see cref="StreamNamespaces.Blocking"/> consumers wait on.
/// </summary>
public sealed class StreamRecorder
{
    private readonly ConcurrentQueue<ReceivedEvent> _events = new();
    private volatile TaskCompletionSource _gate = Opened();

    public Task Gate => _gate.Task;

    public IReadOnlyList<ReceivedEvent> Events => [.. _events];

    public void Record(ReceivedEvent received) => _events.Enqueue(received);

    public IReadOnlyList<ReceivedEvent> For(string provider, string stream)
        => [.. _events.Where(e => e.Provider == provider && e.Stream == stream)];

    public void CloseGate() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void OpenGate() => _gate.TrySetResult();

    private static TaskCompletionSource Opened()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}
