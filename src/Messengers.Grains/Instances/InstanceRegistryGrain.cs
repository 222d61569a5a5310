using Messengers.Abstractions;
using Messengers.Abstractions.Instances;

namespace Messengers.Grains.Instances;

[GenerateSerializer, Alias("messengers.InstanceRegistryState")]
public sealed class InstanceRegistryState
{
    [Id(0)] public SortedSet<string> Ids { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The ids of all instances (one grain, key <see cref="IInstanceRegistryGrain.Key"/>).</summary>
[KeepAlive]
public sealed class InstanceRegistryGrain(
    [PersistentState(InstanceRegistryGrain.StateName, StorageNames.Grains)] IPersistentState<InstanceRegistryState> state) : Grain, IInstanceRegistryGrain
{
    public const string StateName = "registry";

    public async Task AddAsync(string instanceId)
    {
        if (state.State.Ids.Add(instanceId))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task RemoveAsync(string instanceId)
    {
        if (state.State.Ids.Remove(instanceId))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> ListAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Ids]);
}
