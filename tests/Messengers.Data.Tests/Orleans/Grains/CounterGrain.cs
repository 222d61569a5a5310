namespace Messengers.Data.Tests.Orleans.Grains;

public sealed class CounterGrain(
    [PersistentState(CounterGrain.StateName, GrainStorageNames.Default)] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    public const string StateName = "counter";

    public async Task<int> AddAsync(int delta)
    {
        state.State.Value += delta;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<CounterSnapshot> ReadAsync() => Task.FromResult(new CounterSnapshot(state.State.Value, state.Etag, state.RecordExists));

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
