using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Instances;

/// <summary>A silo's live feed (dashboards, <c>GET /api/v1/events</c>): told every status change of every instance.</summary>
public interface IInstanceStatusObserver : IGrainObserver
{
    [OneWay]
    Task OnStatusAsync(InstanceInfo info);
}
