using Messengers.Runtime.Invocation;
using Messengers.Runtime.Serialization;

namespace Messengers.Runtime.Catalog;

/// <summary>One entry of an activation's mailbox: a grain call or a timer tick.</summary>
internal abstract class WorkItem
{
    /// <summary>The chain of activations waiting on this item, for deadlock detection.</summary>
    public CallChain? Chain { get; set; }

    /// <summary>The activation running this item, set when it is admitted.</summary>
    public Activation? Target { get; set; }

    /// <summary>When the item was queued (timestamp of the silo's TimeProvider), for the call timeout.</summary>
    public long QueuedAt { get; set; }

    public abstract bool Interleave { get; }

    public abstract bool ReadOnly { get; }

    /// <summary>Whether running this item counts as activity for idle collection.</summary>
    public virtual bool KeepsAlive => true;

    /// <summary>Whether the caller still waits for this item.</summary>
    public abstract bool IsPending { get; }

    public abstract string Describe();

    /// <summary>Runs the item against the grain instance, inside the activation's turn.</summary>
    public abstract Task RunAsync(Grain grain, Silo silo);

    /// <summary>Fails the item's caller (activation failed, deadlock, timeout, shutdown).</summary>
    public abstract void Fail(Exception exception);
}

/// <summary>A grain call and the task its caller awaits.</summary>
internal sealed class Request<TResult>(GrainMethod method, object?[] arguments, Func<GrainMethod, object, object?[], Task<TResult>> invoke) : WorkItem
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Task => _completion.Task;

    public GrainMethod Method => method;

    public object?[] Arguments { get; private set; } = arguments;

    public override bool Interleave => method.AlwaysInterleave;

    public override bool ReadOnly => method.ReadOnly;

    public override bool IsPending => !_completion.Task.IsCompleted;

    public override string Describe() => method.Name;

    /// <summary>Copies the arguments through JSON, as a call to another silo would.</summary>
    public void SerializeArguments()
    {
        var copy = new object?[Arguments.Length];
        for (var i = 0; i < copy.Length; i++)
        {
            var type = method.ParameterTypes[i];
            if (type == typeof(CancellationToken))
            {
                copy[i] = Arguments[i];
                continue;
            }

            copy[i] = GrainJson.Deserialize(GrainJson.SerializeToUtf8Bytes<object?>(Arguments[i]), type);
        }

        Arguments = copy;
    }

    public override async Task RunAsync(Grain grain, Silo silo)
    {
        try
        {
            var result = await invoke(method, grain, Arguments);
            if (silo.Options.SerializeLocalCalls && typeof(TResult) != typeof(VoidResult))
            {
                result = GrainJson.Deserialize<TResult>(GrainJson.SerializeToUtf8Bytes(result));
            }

            _completion.TrySetResult(result);
        }
        catch (Exception exception)
        {
            _completion.TrySetException(exception);
        }
    }

    public override void Fail(Exception exception) => _completion.TrySetException(exception);
}

/// <summary>
/// The activations a call is waiting on, innermost first. A request whose chain already holds its target
/// activation, arriving while that activation runs a non-interleavable turn, can never complete.
/// </summary>
internal sealed class CallChain(Activation activation, CallChain? next)
{
    private static readonly AsyncLocal<CallChain?> CurrentChain = new();

    public Activation Activation { get; } = activation;

    public CallChain? Next { get; } = next;

    /// <summary>The chain of the turn running on this async flow, if any.</summary>
    public static CallChain? Current
    {
        get => CurrentChain.Value;
        set => CurrentChain.Value = value;
    }

    public bool Contains(Activation activation)
    {
        for (var link = this; link is not null; link = link.Next)
        {
            if (ReferenceEquals(link.Activation, activation))
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString()
    {
        var names = new List<string>();
        for (var link = this; link is not null; link = link.Next)
        {
            names.Add(link.Activation.GrainId.ToString());
        }

        names.Reverse();
        return string.Join(" -> ", names);
    }
}
