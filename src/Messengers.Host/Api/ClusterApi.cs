using Messengers.Abstractions.Instances;
using Messengers.Host.Hosting;
using Orleans.Runtime;

namespace Messengers.Host.Api;

/// <summary>One silo as the cluster sees it: its name and address, membership status, start and live connections.</summary>
public sealed record SiloView(string Name, string Address, string Status, DateTimeOffset StartedAt, int Connections);

public sealed record ClusterView(IReadOnlyList<SiloView> Silos, int Connections);

/// <summary><c>GET /api/v1/cluster</c> (admin): the silos of the cluster and how the live connections are spread over them.</summary>
public static class ClusterApi
{
    public static IEndpointConventionBuilder MapClusterApi(this IEndpointRouteBuilder app)
        => app.MapGet("/api/v1/cluster", GetAsync).WithTags("Cluster").RequireAdmin();

    public static async Task<IResult> GetAsync(IGrainFactory grains, bool? all)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: all != true);
        var load = await grains.GetGrain<IConnectionCensusGrain>(IConnectionCensusGrain.Key).GetLoadAsync();
        var silos = hosts
            .OrderBy(h => h.SiloName, StringComparer.Ordinal)
            .Select(h => new SiloView(h.SiloName, h.SiloAddress.ToParsableString(), h.Status.ToString(), new DateTimeOffset(DateTime.SpecifyKind(h.StartTime, DateTimeKind.Utc)), load.GetValueOrDefault(h.SiloAddress)))
            .ToList();
        return TypedResults.Ok(new ClusterView(silos, silos.Sum(s => s.Connections)));
    }
}
