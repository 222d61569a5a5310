using Messengers.Runtime.Storage;
using Messengers.Runtime.Tests.Contracts;

namespace Messengers.Runtime.Tests.Storage;

/// <summary>The contract suite plus the edge cases of the database providers (same semantics as memory storage).</summary>
public abstract class DatabaseGrainStorageTests : GrainStorageContract
{
    private static GrainId NewGrain() => new("sample", Guid.NewGuid().ToString("N"));

    private static GrainState<SampleState> Empty() => new(new SampleState());

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ClearState_NoEtagWhileRecordExists_ThrowsInconsistentState()
    {
        var grain = NewGrain();
        await Storage.WriteStateAsync("s", grain, Empty(), Cancel);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("s", grain, Empty(), Cancel));
    }

    [Fact]
    public async Task ClearState_EtagButNoRecord_ThrowsInconsistentState()
    {
        var state = Empty();
        state.ETag = "gone";
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("s", NewGrain(), state, Cancel));
    }

    [Fact]
    public async Task ClearState_NoRecordAndNoEtag_Succeeds()
    {
        var state = Empty();
        await Storage.ClearStateAsync("s", NewGrain(), state, Cancel);
        Assert.False(state.RecordExists);
    }

    [Fact]
    public async Task WriteState_EtagFromBeforeClearAndRecreate_ThrowsInconsistentState()
    {
        var grain = NewGrain();
        var first = Empty();
        await Storage.WriteStateAsync("s", grain, first, Cancel);
        var stale = Empty();
        stale.ETag = first.ETag;
        await Storage.ClearStateAsync("s", grain, first, Cancel);
        await Storage.WriteStateAsync("s", grain, first, Cancel);

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("s", grain, stale, Cancel));
        Assert.Equal(first.ETag, error.StoredEtag);
        Assert.Equal(stale.ETag, error.CurrentEtag);
    }

    [Fact]
    public async Task WriteState_SixtyFourGrainsConcurrently_EveryWriteLandsWithItsOwnEtag()
    {
        var grains = Enumerable.Range(0, 64).Select(_ => NewGrain()).ToList();
        await Task.WhenAll(grains.Select(async (grain, i) =>
        {
            var state = Empty();
            for (var round = 1; round <= 5; round++)
            {
                state.State.Number = i * 100 + round;
                await Storage.WriteStateAsync("s", grain, state, Cancel);
            }
        }));

        var reads = await Task.WhenAll(grains.Select(async grain =>
        {
            var read = Empty();
            await Storage.ReadStateAsync("s", grain, read, Cancel);
            return read;
        }));
        Assert.Equal(Enumerable.Range(0, 64).Select(i => i * 100 + 5), reads.Select(r => r.State.Number));
        Assert.Equal(64, reads.Select(r => r.ETag).Distinct().Count());
    }

    [Fact]
    public async Task WriteState_ConflictInOneOfConcurrentWrites_OthersStillCommit()
    {
        var contested = NewGrain();
        var existing = Empty();
        await Storage.WriteStateAsync("s", contested, existing, Cancel);

        var others = Enumerable.Range(0, 20).Select(_ => NewGrain()).ToList();
        var conflicting = Storage.WriteStateAsync("s", contested, Empty(), Cancel);
        var fine = others.Select(g => Storage.WriteStateAsync("s", g, Empty(), Cancel)).ToList();

        await Assert.ThrowsAsync<InconsistentStateException>(() => conflicting);
        await Task.WhenAll(fine);
        foreach (var grain in others)
        {
            var read = Empty();
            await Storage.ReadStateAsync("s", grain, read, Cancel);
            Assert.True(read.RecordExists);
        }
    }
}
