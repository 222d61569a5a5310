using System.Collections.Concurrent;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Timers;

namespace Messengers.Runtime.Tests.Grains;

/// <summary>Records what grains observed, shared by the tests of one silo.</summary>
public sealed class Probe
{
    public ConcurrentQueue<string> Events { get; } = new();

    public int Activations;

    public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool FailActivation { get; set; }
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    Task<int> GetAsync();

    Task ThrowAsync(string message);

    ValueTask<int> GetValueAsync();

    Task<string> WaitForGateAsync();

    [AlwaysInterleave]
    Task<string> PingAsync();

    Task DeactivateAsync();
}

public sealed class CounterGrain(Probe probe) : Grain, ICounterGrain
{
    private int _count;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref probe.Activations);
        if (probe.FailActivation)
        {
            throw new InvalidOperationException("activation refused by the test");
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        probe.Events.Enqueue($"deactivated {this.GetPrimaryKeyString()} {reason.ReasonCode}");
        return Task.CompletedTask;
    }

    public async Task<int> IncrementAsync()
    {
        // Read, yield, write: only correct if no other request of this grain runs in between.
        var value = _count;
        await Task.Yield();
        _count = value + 1;
        return _count;
    }

    public Task<int> GetAsync() => Task.FromResult(_count);

    public ValueTask<int> GetValueAsync() => ValueTask.FromResult(_count);

    public Task ThrowAsync(string message) => throw new ArgumentException(message, nameof(message));

    public async Task<string> WaitForGateAsync()
    {
        probe.Events.Enqueue($"at gate {this.GetPrimaryKeyString()}");
        await probe.Gate.Task;
        return "gate passed";
    }

    public Task<string> PingAsync() => Task.FromResult("pong");

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface IChainGrain : IGrainWithStringKey
{
    /// <summary>Calls the next grain in <paramref name="path"/>, which calls the next, and so on.</summary>
    Task<string> RelayAsync(string[] path);
}

public sealed class ChainGrain : Grain, IChainGrain
{
    public async Task<string> RelayAsync(string[] path)
    {
        if (path.Length == 0)
        {
            return this.GetPrimaryKeyString();
        }

        var next = GrainFactory.GetGrain<IChainGrain>(path[0]);
        return this.GetPrimaryKeyString() + ">" + await next.RelayAsync(path[1..]);
    }
}

public interface IReentrantChainGrain : IGrainWithStringKey
{
    Task<string> RelayAsync(string[] path);
}

[Reentrant]
public sealed class ReentrantChainGrain : Grain, IReentrantChainGrain
{
    public async Task<string> RelayAsync(string[] path)
    {
        if (path.Length == 0)
        {
            return this.GetPrimaryKeyString();
        }

        var next = GrainFactory.GetGrain<IReentrantChainGrain>(path[0]);
        return this.GetPrimaryKeyString() + ">" + await next.RelayAsync(path[1..]);
    }
}

public sealed class TickerState
{
    public int Ticks { get; set; }
    public List<string> Notes { get; set; } = [];
}

public interface ITickerGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan period, bool keepAlive);

    Task<int> GetTicksAsync();

    Task StopAsync();

    Task AddNoteAsync(string note);

    Task<List<string>> GetNotesAsync();

    Task KeepAliveForAsync(TimeSpan span);

    /// <summary>Registers the timer without a due time; it ticks only once <see cref="ArmOnceAsync"/> sets one.</summary>
    Task StartDisarmedAsync();

    Task ArmOnceAsync(TimeSpan dueTime);
}

[CollectionAgeLimit(Minutes = 1)]
public sealed class TickerGrain(
    [PersistentState("ticker")] IPersistentState<TickerState> state,
    Probe probe) : Grain, ITickerGrain
{
    private IGrainTimer? _timer;
    private bool _inTurn;

    public Task StartAsync(TimeSpan period, bool keepAlive)
    {
        _timer = RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions { DueTime = period, Period = period, KeepAlive = keepAlive });
        return Task.CompletedTask;
    }

    public Task StartDisarmedAsync()
    {
        _timer = RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        return Task.CompletedTask;
    }

    public Task ArmOnceAsync(TimeSpan dueTime)
    {
        _timer!.Change(dueTime, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        if (_inTurn)
        {
            probe.Events.Enqueue("overlap");
        }

        _inTurn = true;
        state.State.Ticks++;
        await Task.Yield();
        _inTurn = false;
    }

    public Task<int> GetTicksAsync() => Task.FromResult(state.State.Ticks);

    public Task StopAsync()
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public async Task AddNoteAsync(string note)
    {
        state.State.Notes.Add(note);
        await state.WriteStateAsync();
    }

    public Task<List<string>> GetNotesAsync() => Task.FromResult(state.State.Notes);

    public Task KeepAliveForAsync(TimeSpan span)
    {
        DelayDeactivation(span);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Flush on the way out, as grains with write-behind state do.
        await state.WriteStateAsync(cancellationToken);
        probe.Events.Enqueue($"ticker {this.GetPrimaryKeyString()} flushed {state.State.Ticks} ticks ({reason.ReasonCode})");
    }
}

public sealed record Payload(string Text, List<int> Numbers);

public interface IEchoGrain : IGrainWithStringKey
{
    Task<Payload> MutateAndReturnAsync(Payload payload);

    Task<object> ReturnAsync(object value);
}

public sealed class EchoGrain : Grain, IEchoGrain
{
    public Task<Payload> MutateAndReturnAsync(Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        payload.Numbers.Add(99);
        return Task.FromResult(payload);
    }

    public Task<object> ReturnAsync(object value) => Task.FromResult(value);
}
