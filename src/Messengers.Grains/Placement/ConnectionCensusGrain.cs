using Messengers.Abstractions.Instances;
using Orleans.Runtime;

namespace Messengers.Grains.Placement;

/// <summary>
/// Counts each silo's connections from its reports plus the placements handed out since, so a burst of placements
/// (a silo's instances failing over at once) is spread instead of all going to the silo that looked emptiest.
/// Ties go to a random silo. A silo not heard from for three report intervals is forgotten (it died or left).
/// </summary>
public sealed class ConnectionCensusGrain(TimeProvider time) : Grain, IConnectionCensusGrain
{
    private static readonly TimeSpan ForgetAfter = IConnectionCensusGrain.ReportInterval * 3;
    private readonly Dictionary<SiloAddress, SiloLoad> _silos = [];
    private readonly HashSet<SiloAddress> _draining = [];

    public Task<SiloAddress> ChooseAsync(SiloAddress[] candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentOutOfRangeException.ThrowIfZero(candidates.Length);
        var eligible = candidates.Where(c => !_draining.Contains(c)).ToArray();
        if (eligible.Length == 0)
        {
            eligible = candidates; // every candidate is stopping: one of them is still better than failing the call
        }

        var least = int.MaxValue;
        var best = new List<SiloAddress>(eligible.Length);
        foreach (var silo in eligible)
        {
            var load = Load(silo);
            if (load < least)
            {
                least = load;
                best.Clear();
            }

            if (load == least)
            {
                best.Add(silo);
            }
        }

        var chosen = best[Random.Shared.Next(best.Count)];
        var current = _silos.GetValueOrDefault(chosen) ?? new SiloLoad(0, 0, time.GetUtcNow());
        _silos[chosen] = current with { PlacedSinceReport = current.PlacedSinceReport + 1 };
        return Task.FromResult(chosen);
    }

    public Task ReportAsync(SiloAddress silo, int connections)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var now = time.GetUtcNow();
        _silos[silo] = new SiloLoad(connections, 0, now);
        foreach (var (address, load) in _silos.ToList())
        {
            if (now - load.ReportedAt > ForgetAfter)
            {
                _silos.Remove(address);
                _draining.Remove(address);
            }
        }

        return Task.CompletedTask;
    }

    public Task DrainAsync(SiloAddress silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        _draining.Add(silo);
        return Task.CompletedTask;
    }

    public Task<Dictionary<SiloAddress, int>> GetLoadAsync()
        => Task.FromResult(_silos.ToDictionary(s => s.Key, s => s.Value.Connections + s.Value.PlacedSinceReport));

    private int Load(SiloAddress silo) => _silos.TryGetValue(silo, out var load) ? load.Connections + load.PlacedSinceReport : 0;

    private sealed record SiloLoad(int Connections, int PlacedSinceReport, DateTimeOffset ReportedAt);
}
