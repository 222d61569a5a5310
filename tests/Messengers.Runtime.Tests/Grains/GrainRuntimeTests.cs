using Messengers.Runtime.Catalog;
using Messengers.Runtime.Storage;
using Messengers.Testing;

namespace Messengers.Runtime.Tests.Grains;

public sealed class GrainRuntimeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The background collector would race the test's own CollectIdleAsync calls under the fake clock.</summary>
    private static void ExplicitCollectionOnly(Hosting.GrainRuntimeOptions options) => options.CollectionQuantum = TimeSpan.FromDays(1);

    [Fact]
    public async Task Increment_ThousandConcurrentCallers_CountIsExact()
    {
        await using var silo = await SiloHarness.StartAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("c");

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() => counter.IncrementAsync(), Ct)));

        Assert.Equal(1000, await counter.GetAsync());
        Assert.Equal(Enumerable.Range(1, 1000), results.Order());
        Assert.Equal(1, silo.Probe.Activations);
    }

    [Fact]
    public async Task GetGrain_SameKeyTwice_ReachesOneActivation()
    {
        await using var silo = await SiloHarness.StartAsync();
        await silo.Grains.GetGrain<ICounterGrain>("same").IncrementAsync();
        await silo.Grains.GetGrain<ICounterGrain>("same").IncrementAsync();
        await silo.Grains.GetGrain<ICounterGrain>("other").IncrementAsync();

        Assert.Equal(2, await silo.Grains.GetGrain<ICounterGrain>("same").GetValueAsync());
        Assert.Equal(2, silo.Silo.ActivationCount);
        Assert.Equal("same", silo.Grains.GetGrain<ICounterGrain>("same").GetPrimaryKeyString());
    }

    [Fact]
    public async Task Call_GrainThrows_CallerGetsSameExceptionTypeAndMessage()
    {
        await using var silo = await SiloHarness.StartAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("c");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => counter.ThrowAsync("bad input"));

        Assert.StartsWith("bad input", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await counter.GetAsync()); // the activation survives a failed call
    }

    [Fact]
    public async Task Call_ChainComesBackToNonReentrantGrain_FailsWithDeadlockException()
    {
        await using var silo = await SiloHarness.StartAsync(o => o.CallTimeout = TimeSpan.FromSeconds(20));
        var a = silo.Grains.GetGrain<IChainGrain>("a");

        var error = await Assert.ThrowsAsync<DeadlockException>(() => a.RelayAsync(["b", "a"])).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.Contains("chain/a -> chain/b -> chain/a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_ChainWithoutCycle_Succeeds()
    {
        await using var silo = await SiloHarness.StartAsync();
        Assert.Equal("a>b>c", await silo.Grains.GetGrain<IChainGrain>("a").RelayAsync(["b", "c"]));
    }

    [Fact]
    public async Task Call_ChainComesBackToReentrantGrain_Completes()
    {
        await using var silo = await SiloHarness.StartAsync();
        var result = await silo.Grains.GetGrain<IReentrantChainGrain>("a").RelayAsync(["b", "a"]).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal("a>b>a", result);
    }

    [Fact]
    public async Task Call_AlwaysInterleaveMethod_RunsWhileAnotherRequestIsBlocked()
    {
        await using var silo = await SiloHarness.StartAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("c");
        var blocked = counter.WaitForGateAsync();
        var increment = counter.IncrementAsync();

        Assert.Equal("pong", await counter.PingAsync().WaitAsync(TimeSpan.FromSeconds(5), Ct));
        await Task.Delay(50, Ct);
        Assert.False(increment.IsCompleted); // a normal request waits for the blocked one

        silo.Probe.Gate.SetResult();
        Assert.Equal("gate passed", await blocked);
        Assert.Equal(1, await increment);
    }

    [Fact]
    public async Task Call_NotAnsweredWithinCallTimeout_FailsWithTimeoutAndLaterCallsWork()
    {
        await using var silo = await SiloHarness.StartAsync(o => o.CallTimeout = TimeSpan.FromMilliseconds(300));
        var counter = silo.Grains.GetGrain<ICounterGrain>("c");

        var error = await Assert.ThrowsAsync<GrainCallTimeoutException>(() => counter.WaitForGateAsync()).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Contains("WaitForGateAsync", error.Message, StringComparison.Ordinal);

        silo.Probe.Gate.SetResult();
        Assert.Equal(1, await counter.IncrementAsync());
    }

    [Fact]
    public async Task Activation_OnActivateThrows_CallerGetsActivationErrorAndNextCallRetries()
    {
        await using var silo = await SiloHarness.StartAsync();
        silo.Probe.FailActivation = true;
        var counter = silo.Grains.GetGrain<ICounterGrain>("c");

        var error = await Assert.ThrowsAsync<GrainActivationException>(() => counter.IncrementAsync());
        Assert.Contains("activation refused by the test", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, silo.Silo.ActivationCount);

        silo.Probe.FailActivation = false;
        Assert.Equal(1, await counter.IncrementAsync());
    }

    [Fact]
    public async Task DeactivateOnIdle_AfterCall_NextCallGetsFreshActivation()
    {
        await using var silo = await SiloHarness.StartAsync();
        var counter = silo.Grains.GetGrain<ICounterGrain>("c");
        await counter.IncrementAsync();

        await counter.DeactivateAsync();
        var next = await counter.GetAsync();

        Assert.Equal(0, next); // in-memory field state is gone with the old activation
        Assert.Equal(2, silo.Probe.Activations);
        Assert.Contains("deactivated c ApplicationRequested", silo.Probe.Events);
    }

    [Fact]
    public async Task PersistentState_AfterDeactivation_IsReadByNewActivation()
    {
        await using var silo = await SiloHarness.StartAsync();
        var ticker = silo.Grains.GetGrain<ITickerGrain>("t");
        await ticker.AddNoteAsync("one");
        await ticker.AddNoteAsync("two");

        await silo.Silo.DeactivateAsync(ticker.GrainId);
        Assert.Equal(0, silo.Silo.ActivationCount);

        Assert.Equal(["one", "two"], await ticker.GetNotesAsync());
    }

    [Fact]
    public async Task PersistentState_ChangedBehindTheGrainsBack_WriteThrowsInconsistentState()
    {
        await using var silo = await SiloHarness.StartAsync();
        var ticker = silo.Grains.GetGrain<ITickerGrain>("t");
        await ticker.AddNoteAsync("one");

        var outside = new GrainState<TickerState>(new TickerState());
        await silo.Storage.ReadStateAsync("ticker", ticker.GrainId, outside, Ct);
        outside.State.Notes.Add("from elsewhere");
        await silo.Storage.WriteStateAsync("ticker", ticker.GrainId, outside, Ct);

        await Assert.ThrowsAsync<InconsistentStateException>(() => ticker.AddNoteAsync("two"));
    }

    [Fact]
    public async Task Timer_Ticks_RunAsTurnsWithoutOverlap()
    {
        var time = new FakeTimeProvider();
        await using var silo = await SiloHarness.StartAsync(time: time);
        var ticker = silo.Grains.GetGrain<ITickerGrain>("t");
        await ticker.StartAsync(TimeSpan.FromSeconds(10), keepAlive: false);

        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await WaitForTicksAsync(ticker, i + 1);
        }

        await ticker.StopAsync();
        time.Advance(TimeSpan.FromSeconds(60));
        await Task.Delay(50, Ct);
        Assert.Equal(5, await ticker.GetTicksAsync());
        Assert.DoesNotContain("overlap", silo.Probe.Events);
    }

    [Fact]
    public async Task Timer_InfiniteDueTime_TicksOnlyAfterChangeArmsIt()
    {
        var time = new FakeTimeProvider();
        await using var silo = await SiloHarness.StartAsync(time: time);
        var ticker = silo.Grains.GetGrain<ITickerGrain>("disarmed");
        await ticker.StartDisarmedAsync();

        time.Advance(TimeSpan.FromSeconds(50)); // below the class's one-minute collection age
        await Task.Delay(50, Ct);
        Assert.Equal(0, await ticker.GetTicksAsync());

        await ticker.ArmOnceAsync(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(5));
        await WaitForTicksAsync(ticker, 1);
        time.Advance(TimeSpan.FromSeconds(50)); // below the class's one-minute collection age
        await Task.Delay(50, Ct);
        Assert.Equal(1, await ticker.GetTicksAsync());
    }

    [Fact]
    public async Task IdleCollection_PastCollectionAge_DeactivatesAndFlushesState()
    {
        var time = new FakeTimeProvider();
        await using var silo = await SiloHarness.StartAsync(ExplicitCollectionOnly, time);
        var ticker = silo.Grains.GetGrain<ITickerGrain>("t");
        await ticker.GetTicksAsync();

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await silo.Silo.CollectIdleAsync());

        time.Advance(TimeSpan.FromSeconds(31)); // the class's CollectionAgeLimit is one minute
        Assert.Equal(1, await silo.Silo.CollectIdleAsync());
        Assert.Equal(0, silo.Silo.ActivationCount);
        Assert.Contains("ticker t flushed 0 ticks (ActivationIdle)", silo.Probe.Events);
    }

    [Fact]
    public async Task IdleCollection_KeepAliveTimerOrDelayDeactivation_KeepsActivation()
    {
        var time = new FakeTimeProvider();
        await using var silo = await SiloHarness.StartAsync(ExplicitCollectionOnly, time);
        var kept = silo.Grains.GetGrain<ITickerGrain>("kept");
        var delayed = silo.Grains.GetGrain<ITickerGrain>("delayed");
        var plain = silo.Grains.GetGrain<ITickerGrain>("plain");
        await kept.StartAsync(TimeSpan.FromSeconds(20), keepAlive: true);
        await delayed.KeepAliveForAsync(TimeSpan.FromMinutes(10));
        await plain.StartAsync(TimeSpan.FromSeconds(20), keepAlive: false);

        for (var i = 1; i <= 6; i++)
        {
            time.Advance(TimeSpan.FromSeconds(20));
            await WaitForTicksAsync(kept, i); // calls to "plain" would count as activity, so only "kept" is polled
        }

        Assert.Equal(1, await silo.Silo.CollectIdleAsync());
        Assert.Equal(2, silo.Silo.ActivationCount);
        Assert.Contains(silo.Probe.Events, e => e.StartsWith("ticker plain flushed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Shutdown_WithActivations_DeactivatesEachAndFlushesState()
    {
        var silo = await SiloHarness.StartAsync();
        var storage = silo.Storage;
        var tickers = Enumerable.Range(0, 10).Select(i => silo.Grains.GetGrain<ITickerGrain>($"t{i}")).ToList();
        await Task.WhenAll(tickers.Select(t => t.GetTicksAsync()));

        await silo.Silo.StopAsync(Ct);

        Assert.Equal(0, silo.Silo.ActivationCount);
        Assert.Equal(10, silo.Probe.Events.Count(e => e.EndsWith("(ShuttingDown)", StringComparison.Ordinal)));
        var stored = new GrainState<TickerState>(new TickerState());
        await storage.ReadStateAsync("ticker", tickers[3].GrainId, stored, Ct);
        Assert.True(stored.RecordExists);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => silo.Grains.GetGrain<ITickerGrain>("new").GetTicksAsync());
        await silo.DisposeAsync();
    }

    [Fact]
    public async Task Shutdown_CalledTwiceConcurrently_SecondCallerWaitsForDeactivations()
    {
        await using var silo = await SiloHarness.StartAsync();
        var busy = silo.Grains.GetGrain<ICounterGrain>("busy");
        var call = busy.WaitForGateAsync(); // holds the activation's turn, so its deactivation must wait
        while (!silo.Probe.Events.Contains("at gate busy"))
        {
            await Task.Delay(10, Ct);
        }

        var first = silo.Silo.StopAsync(Ct);
        var second = silo.Silo.StopAsync(Ct);
        await Task.Delay(100, Ct);
        Assert.False(second.IsCompleted, "a second StopAsync returned while an activation was still deactivating");

        silo.Probe.Gate.SetResult();
        await Task.WhenAll(first, second, call);
        Assert.Contains("deactivated busy ShuttingDown", silo.Probe.Events);
        Assert.Equal(0, silo.Silo.ActivationCount);
    }

    [Fact]
    public async Task SerializeLocalCalls_ArgumentsAndResults_AreCopiesNotShared()
    {
        await using var silo = await SiloHarness.StartAsync(o => o.SerializeLocalCalls = true);
        var echo = silo.Grains.GetGrain<IEchoGrain>("e");
        var sent = new Payload("x", [1]);

        var returned = await echo.MutateAndReturnAsync(sent);

        Assert.Equal([1], sent.Numbers);
        Assert.Equal([1, 99], returned.Numbers);
        Assert.NotSame(sent, returned);
    }

    [Fact]
    public async Task SerializeLocalCalls_UnserializableArgument_FailsAtTheCaller()
    {
        await using var silo = await SiloHarness.StartAsync(o => o.SerializeLocalCalls = true);
        var echo = silo.Grains.GetGrain<IEchoGrain>("e");
        Assert.ThrowsAny<Exception>(() => { _ = echo.ReturnAsync(new Func<int>(() => 1)); });
        await Task.CompletedTask;
    }

    [Fact]
    public async Task GetGrain_UnregisteredInterface_ThrowsClearError()
    {
        await using var silo = await SiloHarness.StartAsync();
        var error = Assert.Throws<GrainActivationException>(() => silo.Grains.GetGrain<IUnregisteredGrain>("x"));
        Assert.Contains(nameof(IUnregisteredGrain), error.Message, StringComparison.Ordinal);
    }

    private static async Task WaitForTicksAsync(ITickerGrain ticker, int expected)
    {
        for (var i = 0; i < 500 && await ticker.GetTicksAsync() < expected; i++)
        {
            await Task.Delay(5, Ct);
        }

        Assert.Equal(expected, await ticker.GetTicksAsync());
    }
}

public interface IUnregisteredGrain : IGrainWithStringKey
{
    Task PingAsync();
}
