using Orleans;
using Orleans.Runtime;

namespace Messengers.Abstractions.Instances;

/// <summary>
/// Where the cluster's live connections are (one grain, key <see cref="Key"/>): silos report how many connections
/// they hold, and every placement of a connection grain asks it for the least loaded silo, so connections spread
/// evenly however many start at once and from whichever silo. A silo that is stopping is drained: it gets no new
/// connections. Counts live in memory; a census that moved with a dead silo is refilled by the next reports.
/// </summary>
public interface IConnectionCensusGrain : IGrainWithStringKey
{
    const string Key = "cluster";

    /// <summary>How often each silo reports its connections.</summary>
    static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(5);

    /// <summary>The least loaded of <paramref name="candidates"/> that is not draining, counted as one connection more.</summary>
    Task<SiloAddress> ChooseAsync(SiloAddress[] candidates);

    Task ReportAsync(SiloAddress silo, int connections);

    /// <summary>From now on <paramref name="silo"/> gets no new connection.</summary>
    Task DrainAsync(SiloAddress silo);

    /// <summary>Connections per silo as last known (reported plus placed since), for status and tests.</summary>
    Task<Dictionary<SiloAddress, int>> GetLoadAsync();
}
