using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Instances;

/// <summary>The list of all instance ids (key "all"), for listing and for resuming at start-up.</summary>
public interface IInstanceRegistryGrain : IGrainWithStringKey
{
    /// <summary>The key of the one registry grain.</summary>
    const string Key = "all";

    Task AddAsync(string instanceId);

    Task RemoveAsync(string instanceId);

    [ReadOnly]
    Task<IReadOnlyList<string>> ListAsync();
}
