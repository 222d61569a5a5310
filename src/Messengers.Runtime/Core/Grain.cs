using Messengers.Runtime.Catalog;
using Messengers.Runtime.Streams;
using Messengers.Runtime.Timers;

namespace Messengers.Runtime;

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReasonCode
{
    None,
    ShuttingDown,
    ActivationIdle,
    ApplicationRequested,
    ActivationFailed,
}

public readonly record struct DeactivationReason(DeactivationReasonCode ReasonCode, string Description)
{
    public override string ToString() => $"{ReasonCode}: {Description}";
}

/// <summary>
/// Base class of grains. The runtime constructs grains itself (dependencies come through the constructor,
/// persistent state through <see cref="Storage.PersistentStateAttribute"/> parameters) and binds the
/// instance to its activation while the constructor runs, as Orleans does.
/// </summary>
public abstract class Grain : IAddressable
{
    private readonly Activation _activation;

    protected Grain()
    {
        _activation = Activation.Constructing
            ?? throw new InvalidOperationException("Grains are created by the runtime; use IGrainFactory.GetGrain to obtain a reference.");
    }

    public GrainId GrainId => _activation.GrainId;

    /// <summary>The factory for references to other grains (and to this one).</summary>
    protected IGrainFactory GrainFactory => _activation.Runtime;

    protected IServiceProvider ServiceProvider => _activation.Runtime.Services;

    internal Activation Activation => _activation;

    /// <summary>Called once before the first request runs, after persistent state was read.</summary>
    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called once when the activation is collected, deactivated on request, or the silo stops.</summary>
    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Deactivate this activation once the current request completes.</summary>
    protected void DeactivateOnIdle() => _activation.RequestDeactivation(new(DeactivationReasonCode.ApplicationRequested, "DeactivateOnIdle"));

    /// <summary>Keep this activation from idle collection for at least <paramref name="timeSpan"/>.</summary>
    protected void DelayDeactivation(TimeSpan timeSpan) => _activation.DelayDeactivation(timeSpan);

    /// <summary>A timer whose ticks run as turns of this activation.</summary>
    protected IGrainTimer RegisterGrainTimer(Func<CancellationToken, Task> callback, GrainTimerCreationOptions options)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return _activation.RegisterTimer(callback, options);
    }

    /// <summary>A timer whose ticks run as turns of this activation, with a state argument.</summary>
    protected IGrainTimer RegisterGrainTimer<TState>(Func<TState, CancellationToken, Task> callback, TState state, GrainTimerCreationOptions options)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return _activation.RegisterTimer(ct => callback(state, ct), options);
    }

    /// <summary>A timer with due time and period, as in Orleans' convenience overload.</summary>
    protected IGrainTimer RegisterGrainTimer(Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period)
        => RegisterGrainTimer(callback, new GrainTimerCreationOptions { DueTime = dueTime, Period = period });

    /// <summary>The stream provider registered under <paramref name="name"/>.</summary>
    protected IStreamProvider GetStreamProvider(string name) => _activation.Runtime.GetStreamProvider(name);
}

public static class GrainExtensions
{
    /// <summary>The string key of a grain or grain reference.</summary>
    public static string GetPrimaryKeyString(this IAddressable grain)
    {
        ArgumentNullException.ThrowIfNull(grain);
        return grain.GrainId.Key;
    }

    /// <summary>Casts a reference to another interface of the same grain.</summary>
    public static TGrainInterface AsReference<TGrainInterface>(this IAddressable grain, IGrainFactory factory)
        where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(grain);
        ArgumentNullException.ThrowIfNull(factory);
        return factory.GetGrain<TGrainInterface>(grain.GrainId.Key);
    }
}
