using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Messengers.Grains.Placement;

/// <summary>
/// The connections this silo holds. Reports their number to the <see cref="IConnectionCensusGrain"/> every
/// <see cref="IConnectionCensusGrain.ReportInterval"/>, and when the silo stops gracefully it hands every connection
/// over to another silo before its grains deactivate: the census marks it draining, then each instance reconnects
/// elsewhere (closing here first, so an account is never driven twice). What does not move within
/// <see cref="DrainTimeout"/> is picked up by the survivors' failover once this silo has left.
/// </summary>
public sealed partial class SiloConnections(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    TimeProvider time,
    ILogger<SiloConnections> logger)
    : SiloBackgroundLoop, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Silo metadata: the providers whose connections this silo cannot hold (no browser, say), comma-separated.</summary>
    public const string UnavailableProvidersMetadataKey = "messengers.unavailable-providers";

    /// <summary>How long a stopping silo spends moving its connections; within Kubernetes' 30 s default grace period with the rest of the stop.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);

    private const int MoveConcurrency = 8;
    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);
    private volatile bool _draining;

    public bool IsDraining => _draining;

    public int Count => _connections.Count;

    public void Add(string instanceId) => _connections.TryAdd(instanceId, 0);

    public void Remove(string instanceId) => _connections.TryRemove(instanceId, out _);

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        // One stage after Active, so its stop (the hand-over) comes first: what stops at Active (the web-chat hub's
        // registrations, the message counter's flush) still serves the connections until they have moved.
        lifecycle.Subscribe(nameof(SiloConnections), ServiceLifecycleStage.Active + 1, StartReporting, DrainAsync);
    }

    private Task StartReporting(CancellationToken cancellationToken)
    {
        StartLoop(ReportLoopAsync);
        return Task.CompletedTask;
    }

    private async Task ReportLoopAsync()
    {
        using var timer = new PeriodicTimer(IConnectionCensusGrain.ReportInterval, time);
        do
        {
            if (_draining)
            {
                return;
            }

            try
            {
                await Census.ReportAsync(silo.SiloAddress, _connections.Count);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogReportFailed(logger, exception.Message);
            }
        }
        while (await WaitAsync(timer));
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(Stopping);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var ids = _connections.Keys.ToList();
        var others = membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(silo.SiloAddress));
        if (ids.Count == 0 || !others)
        {
            // Alone in the cluster: the connections close with the silo and reconnect when it (or another) starts.
            return;
        }

        LogDraining(logger, ids.Count);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(DrainTimeout);
        try
        {
            await Census.DrainAsync(silo.SiloAddress).WaitAsync(budget.Token);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogReportFailed(logger, exception.Message); // the local placement still skips this silo
        }

        var moved = 0;
        try
        {
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = MoveConcurrency, CancellationToken = budget.Token }, async (id, token) =>
            {
                try
                {
                    await grains.GetGrain<IInstanceGrain>(id).MoveConnectionAsync().WaitAsync(token);
                    Interlocked.Increment(ref moved);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogMoveFailed(logger, id, exception.Message);
                }
            });
        }
        catch (OperationCanceledException)
        {
            // out of time: the rest reconnect through the survivors' failover
        }

        LogDrained(logger, moved, ids.Count);
    }

    private IConnectionCensusGrain Census => grains.GetGrain<IConnectionCensusGrain>(IConnectionCensusGrain.Key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection census could not be told about this silo: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo stopping: moving {Count} connections to other silos")]
    private static partial void LogDraining(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection of instance {InstanceId} could not be moved before the silo stops: {Reason}")]
    private static partial void LogMoveFailed(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved {Moved} of {Count} connections to other silos")]
    private static partial void LogDrained(ILogger logger, int moved, int count);
}
