using System.Collections.Concurrent;
using Messengers.Agents;

namespace Messengers.Grains.Tests.Infrastructure;

/// <summary>
/// An agent backend ("scripted") whose answers a test decides: by default it echoes; a test can make the next calls
/// fail, or hold a call until it is released. It records every request. Shared by every silo of the test cluster.
/// </summary>
public sealed class ScriptedAgentBackend : IAgentBackend
{
    public const string BackendName = "scripted";

    private readonly ConcurrentDictionary<string, ConcurrentQueue<Exception>> _failures = new();
    private TaskCompletionSource? _gate;

    public string Name => BackendName;

    public bool UsesHistory => false;

    public ConcurrentQueue<AgentRequest> Requests { get; } = new();

    /// <summary>The next <paramref name="count"/> calls for <paramref name="instanceId"/> fail with <paramref name="failure"/>.</summary>
    public void FailNext(string instanceId, int count, Exception failure)
    {
        var failures = _failures.GetOrAdd(instanceId, _ => new());
        for (var i = 0; i < count; i++)
        {
            failures.Enqueue(failure);
        }
    }

    /// <summary>Calls wait until <see cref="Release"/>.</summary>
    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate?.TrySetResult();

    public IReadOnlyList<AgentRequest> RequestsFor(string instanceId, string chatId) => [.. Requests.Where(r => r.InstanceId == instanceId && r.ChatId == chatId)];

    public async Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        Requests.Enqueue(request);
        if (_gate is { } gate)
        {
            await gate.Task.WaitAsync(ct);
        }
        else
        {
            await Task.Yield();
        }

        if (_failures.TryGetValue(request.InstanceId, out var failures) && failures.TryDequeue(out var failure))
        {
            throw failure;
        }

        return new AgentReply("Re: " + request.Text);
    }
}
