using Messengers.Runtime;
using Messengers.Runtime.Storage;

namespace Messengers.Runtime.Tests.Contracts;

public enum SampleColor
{
    Red,
    Green,
}

public sealed record SampleItem(string Name, int Count);

public sealed class SampleState
{
    public string Text { get; set; } = "";
    public int Number { get; set; }
    public SampleColor Color { get; set; }
    public DateTimeOffset At { get; set; }
    public List<SampleItem> Items { get; set; } = [];
    public Dictionary<string, string> Tags { get; set; } = [];
    public string? Optional { get; set; }
}

/// <summary>
/// The behaviour every grain storage provider must show (memory, SQLite, PostgreSQL). A provider's test class
/// derives from this and supplies the storage; each test uses its own grain ids, so one storage can serve all.
/// </summary>
public abstract class GrainStorageContract
{
    protected abstract IGrainStorage Storage { get; }

    private static GrainId NewGrain() => new("sample", Guid.NewGuid().ToString("N"));

    private static GrainState<SampleState> Empty() => new(new SampleState());

    [Fact]
    public async Task ReadState_NoRecord_ReportsNoRecordAndNoEtag()
    {
        var state = Empty();
        await Storage.ReadStateAsync("s", NewGrain(), state, TestContext.Current.CancellationToken);
        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
    }

    [Fact]
    public async Task WriteState_ThenRead_RoundTripsEveryMemberAndEtag()
    {
        var grain = NewGrain();
        var written = Empty();
        written.State = new SampleState
        {
            Text = "héllo \"world\" 👋",
            Number = 42,
            Color = SampleColor.Green,
            At = new DateTimeOffset(2026, 11, 22, 3, 4, 5, TimeSpan.FromHours(3)),
            Items = [new("a", 1), new("b", 2)],
            Tags = new() { ["k"] = "v" },
        };
        await Storage.WriteStateAsync("s", grain, written, TestContext.Current.CancellationToken);
        Assert.True(written.RecordExists);
        Assert.NotNull(written.ETag);

        var read = Empty();
        await Storage.ReadStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal("héllo \"world\" 👋", read.State.Text);
        Assert.Equal(42, read.State.Number);
        Assert.Equal(SampleColor.Green, read.State.Color);
        Assert.Equal(written.State.At, read.State.At);
        Assert.Equal([new("a", 1), new("b", 2)], read.State.Items);
        Assert.Equal("v", read.State.Tags["k"]);
        Assert.Null(read.State.Optional);
    }

    [Fact]
    public async Task WriteState_Twice_ChangesEtag()
    {
        var grain = NewGrain();
        var state = Empty();
        await Storage.WriteStateAsync("s", grain, state, TestContext.Current.CancellationToken);
        var first = state.ETag;
        state.State.Number = 2;
        await Storage.WriteStateAsync("s", grain, state, TestContext.Current.CancellationToken);
        Assert.NotEqual(first, state.ETag);

        var read = Empty();
        await Storage.ReadStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.Equal(2, read.State.Number);
    }

    [Fact]
    public async Task WriteState_StaleEtag_ThrowsInconsistentStateAndKeepsNewerRecord()
    {
        var grain = NewGrain();
        var first = Empty();
        await Storage.WriteStateAsync("s", grain, first, TestContext.Current.CancellationToken);
        var second = Empty();
        await Storage.ReadStateAsync("s", grain, second, TestContext.Current.CancellationToken);
        second.State.Number = 2;
        await Storage.WriteStateAsync("s", grain, second, TestContext.Current.CancellationToken);

        first.State.Number = 1;
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("s", grain, first, TestContext.Current.CancellationToken));

        var read = Empty();
        await Storage.ReadStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.Equal(2, read.State.Number);
    }

    [Fact]
    public async Task WriteState_NoEtagWhileRecordExists_ThrowsInconsistentState()
    {
        var grain = NewGrain();
        await Storage.WriteStateAsync("s", grain, Empty(), TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync("s", grain, Empty(), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ClearState_ThenRead_NoRecord_AndRecreateSucceeds()
    {
        var grain = NewGrain();
        var state = Empty();
        state.State.Number = 5;
        await Storage.WriteStateAsync("s", grain, state, TestContext.Current.CancellationToken);
        await Storage.ClearStateAsync("s", grain, state, TestContext.Current.CancellationToken);
        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);

        var read = Empty();
        await Storage.ReadStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.False(read.RecordExists);

        await Storage.WriteStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.True(read.RecordExists);
    }

    [Fact]
    public async Task ClearState_StaleEtag_ThrowsInconsistentState()
    {
        var grain = NewGrain();
        var stale = Empty();
        await Storage.WriteStateAsync("s", grain, stale, TestContext.Current.CancellationToken);
        var fresh = Empty();
        await Storage.ReadStateAsync("s", grain, fresh, TestContext.Current.CancellationToken);
        await Storage.WriteStateAsync("s", grain, fresh, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync("s", grain, stale, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task WriteState_ConcurrentWritersWithSameEtag_ExactlyOneWins()
    {
        var grain = NewGrain();
        var initial = Empty();
        await Storage.WriteStateAsync("s", grain, initial, TestContext.Current.CancellationToken);

        var writers = Enumerable.Range(0, 16).Select(i =>
        {
            var copy = Empty();
            copy.ETag = initial.ETag;
            copy.RecordExists = true;
            copy.State.Number = i;
            return copy;
        }).ToList();

        var outcomes = await Task.WhenAll(writers.Select(async w =>
        {
            try
            {
                await Storage.WriteStateAsync("s", grain, w, TestContext.Current.CancellationToken);
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Equal(1, outcomes.Count(o => o));
        var winner = writers[Array.IndexOf(outcomes, true)];
        var read = Empty();
        await Storage.ReadStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.Equal(winner.State.Number, read.State.Number);
        Assert.Equal(winner.ETag, read.ETag);
    }

    [Fact]
    public async Task WriteState_DifferentStateNamesAndGrains_AreIndependent()
    {
        var grain = NewGrain();
        var other = NewGrain();
        var a = Empty();
        a.State.Text = "a";
        var b = Empty();
        b.State.Text = "b";
        await Storage.WriteStateAsync("first", grain, a, TestContext.Current.CancellationToken);
        await Storage.WriteStateAsync("second", grain, b, TestContext.Current.CancellationToken);

        var readA = Empty();
        var readB = Empty();
        var readOther = Empty();
        await Storage.ReadStateAsync("first", grain, readA, TestContext.Current.CancellationToken);
        await Storage.ReadStateAsync("second", grain, readB, TestContext.Current.CancellationToken);
        await Storage.ReadStateAsync("first", other, readOther, TestContext.Current.CancellationToken);
        Assert.Equal("a", readA.State.Text);
        Assert.Equal("b", readB.State.Text);
        Assert.False(readOther.RecordExists);
    }
}
