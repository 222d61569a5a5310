using Messengers.Runtime.Hosting;
using Messengers.Runtime.Invocation;
using Messengers.Runtime.Placement;
using Messengers.Runtime.Streams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Runtime.Catalog;

/// <summary>
/// The grain runtime of one process: grain classes, the activation directory, call dispatch through
/// placement, idle collection and call timeouts. It is the <see cref="IGrainFactory"/> of the process.
/// </summary>
public sealed class Silo : IGrainFactory, IHostedService, IAsyncDisposable
{
    private readonly Dictionary<Type, GrainClass> _byInterface = [];
    private readonly Dictionary<string, GrainClass> _byName = new(StringComparer.Ordinal);
    private readonly IGrainPlacement _placement;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _housekeeping;
    private volatile bool _closed;
    private readonly Lock _shutdownLock = new();
    private Task? _shutdown;

    public Silo(IServiceProvider services, IOptions<GrainRuntimeOptions> options, IEnumerable<GrainClassRegistration> registrations, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registrations);
        ArgumentNullException.ThrowIfNull(loggers);
        Services = services;
        Options = options.Value;
        Time = time ?? TimeProvider.System;
        Logger = loggers.CreateLogger("Messengers.Runtime.Silo");
        _placement = services.GetService<IGrainPlacement>() ?? new LocalGrainPlacement();
        Catalog = new ActivationDirectory(this);
        foreach (var type in registrations.Select(r => r.GrainClass).Distinct())
        {
            Register(new GrainClass(type));
        }
    }

    public IServiceProvider Services { get; }

    public GrainRuntimeOptions Options { get; }

    public TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal ActivationDirectory Catalog { get; }

    /// <summary>The number of live activations in this silo.</summary>
    public int ActivationCount => Catalog.Count;

    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey)
        where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        if (!_byInterface.TryGetValue(typeof(TGrainInterface), out var grainClass))
        {
            throw new GrainActivationException($"No grain class implementing {typeof(TGrainInterface).Name} is registered.");
        }

        return GrainReference.Create<TGrainInterface>(this, new GrainId(grainClass.Name, primaryKey));
    }

    public IStreamProvider GetStreamProvider(string name)
        => Services.GetKeyedService<IStreamProvider>(name) ?? throw new KeyNotFoundException($"No stream provider named '{name}' is registered.");

    /// <summary>Deactivates the activation of <paramref name="grainId"/> if this silo has one.</summary>
    public Task DeactivateAsync(GrainId grainId)
        => Catalog.TryGet(grainId, out var activation)
            ? activation.DeactivateAsync(new(DeactivationReasonCode.ApplicationRequested, "requested through the silo"))
            : Task.CompletedTask;

    /// <summary>Runs one round of idle collection now; returns how many activations were collected.</summary>
    public async Task<int> CollectIdleAsync()
    {
        var now = Time.GetTimestamp();
        var idle = Catalog.All.Where(a => a.IsIdle(now, Options.CollectionAge)).ToList();
        await Task.WhenAll(idle.Select(a => a.DeactivateAsync(new(DeactivationReasonCode.ActivationIdle, "idle"))));
        if (idle.Count > 0)
        {
            RuntimeLog.CollectedIdle(Logger, idle.Count);
        }

        return idle.Count;
    }

    internal Task<TResult> Send<TResult>(GrainId target, Request<TResult> request)
    {
        if (Options.SerializeLocalCalls)
        {
            request.SerializeArguments();
        }

        request.Chain = CallChain.Current;
        request.QueuedAt = Time.GetTimestamp();
        if (!_placement.IsLocal(target))
        {
            // The clustering work replaces this with IRemoteGrainInvoker; arguments are already JSON-ready.
            request.Fail(new NotSupportedException($"{target} is placed on another silo, and this silo has no remote invoker."));
            return request.Task;
        }

        Forward(target, request);
        return request.Task;
    }

    /// <summary>Delivers a work item to the live activation of <paramref name="target"/>, creating one when needed.</summary>
    internal void Forward(GrainId target, WorkItem item)
    {
        if (!_byName.TryGetValue(target.Type, out var grainClass))
        {
            item.Fail(new GrainActivationException($"No grain class named '{target.Type}' is registered."));
            return;
        }

        while (true)
        {
            if (!Catalog.TryGet(target, out var activation))
            {
                if (_closed)
                {
                    item.Fail(new SiloUnavailableException($"Silo {Options.SiloName} is shutting down; {target} cannot be activated."));
                    return;
                }

                activation = Catalog.GetOrCreate(target, grainClass);
            }

            if (activation.Enqueue(item))
            {
                return;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _housekeeping = Task.Run(HousekeepingAsync, CancellationToken.None);
        RuntimeLog.SiloStarted(Logger, Options.SiloName, _byName.Count);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Graceful shutdown: no new activations, every activation deactivated (its OnDeactivateAsync flushes state).
    /// Every caller awaits the same shutdown: the generic host stops its services from two places at once when
    /// StopAsync races the application-stopping signal, and a second caller must not return before state is flushed.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_shutdownLock)
        {
            _closed = true;
            _shutdown ??= ShutdownAsync(cancellationToken);
            return _shutdown;
        }
    }

    private async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        RuntimeLog.SiloStopping(Logger, Options.SiloName, Catalog.Count);
        var reason = new DeactivationReason(DeactivationReasonCode.ShuttingDown, "silo stopping");
        try
        {
            // A request that never completes would hold its activation forever; shutdown waits a bounded time.
            await Task.WhenAll(Catalog.All.ToList().Select(a => a.DeactivateAsync(reason)))
                .WaitAsync(Options.DeactivationTimeout + Options.CallTimeout, Time, cancellationToken);
        }
        catch (TimeoutException)
        {
            RuntimeLog.ShutdownIncomplete(Logger, Options.SiloName, Catalog.Count);
        }

        if (_housekeeping is not null)
        {
            await _housekeeping;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    private async Task HousekeepingAsync()
    {
        var tick = TimeSpan.FromTicks(Math.Clamp(Options.CallTimeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));
        if (Options.CollectionQuantum < tick)
        {
            tick = Options.CollectionQuantum;
        }

        var lastCollection = Time.GetTimestamp();
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, Time, _stopping.Token);
                var now = Time.GetTimestamp();
                var cutoff = now - (long)(Options.CallTimeout.TotalSeconds * Time.TimestampFrequency);
                foreach (var activation in Catalog.All)
                {
                    activation.FailTimedOut(cutoff, Options.CallTimeout);
                }

                if (Time.GetElapsedTime(lastCollection, now) >= Options.CollectionQuantum)
                {
                    lastCollection = now;
                    await CollectIdleAsync();
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                RuntimeLog.HousekeepingFailed(Logger, exception, Options.SiloName);
            }
        }
    }

    private void Register(GrainClass grainClass)
    {
        if (!_byName.TryAdd(grainClass.Name, grainClass))
        {
            throw new InvalidOperationException($"Two grain classes share the type name '{grainClass.Name}': {_byName[grainClass.Name].Type.FullName} and {grainClass.Type.FullName}.");
        }

        foreach (var grainInterface in grainClass.Interfaces)
        {
            if (!_byInterface.TryAdd(grainInterface, grainClass))
            {
                throw new InvalidOperationException($"{grainInterface.Name} is implemented by both {_byInterface[grainInterface].Type.Name} and {grainClass.Type.Name}; give each grain its own interface.");
            }
        }
    }
}

/// <summary>A grain class added to the silo through <see cref="SiloBuilderExtensions.AddGrain{TGrain}"/>.</summary>
public sealed record GrainClassRegistration(Type GrainClass);
