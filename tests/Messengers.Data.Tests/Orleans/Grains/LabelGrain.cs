namespace Messengers.Data.Tests.Orleans.Grains;

public sealed class LabelGrain(
    [PersistentState(LabelGrain.StateName, GrainStorageNames.Default)] IPersistentState<LabelState> state) : Grain, ILabelGrain
{
    public const string StateName = "label";

    public async Task SetAsync(string text)
    {
        state.State.Text = text;
        await state.WriteStateAsync();
    }

    public Task<string> GetAsync() => Task.FromResult(state.State.Text);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
