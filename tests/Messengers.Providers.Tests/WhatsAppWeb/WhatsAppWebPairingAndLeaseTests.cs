using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Providers.WhatsAppWeb;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>Phone-code pairing next to the QR rotation, and the account lease between silos, in real Chromium.</summary>
public sealed class WhatsAppWebPairingAndLeaseTests : WhatsAppWebTestBase
{
    private readonly List<IAsyncDisposable> _otherSilos = [];

    public override async ValueTask InitializeAsync()
    {
        Options.LeaseDuration = TimeSpan.FromSeconds(1.5);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        for (var i = _otherSilos.Count - 1; i >= 0; i--)
        {
            await _otherSilos[i].DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task PairingCode_QrCodesRunOutWhileCodePending_KeepsWaitingThenReadyWhenEntered()
    {
        Options.QrLifetime = TimeSpan.FromSeconds(30);
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, "ref-1,s,i,k");
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.QrReady));

        Assert.Equal("FAKE1234", await connection.RequestPairingCodeAsync("5511999990000", Ct));
        for (var i = 2; i <= 5; i++)
        {
            await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, $"ref-{i},s,i,k");
        }

        // The rotation is exhausted (3 allowed), but the pairing code keeps the session waiting.
        await WaitUntilAsync(() => callbacks.Qrs.Count(q => q is not null) == 3);
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.Authenticate, MyWid);
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Ready));

        Assert.False(callbacks.Has(InstanceStatus.Failed));
        Assert.Equal(MyWid, callbacks.Statuses.Last().Account?.Id);
    }

    [Fact]
    public async Task PairingCode_NotEnteredWithinItsLifetime_FailsQrNotScanned()
    {
        Options.PairingCodeLifetime = TimeSpan.FromSeconds(1);
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, "ref-1,s,i,k");
        await connection.RequestPairingCodeAsync("5511999990000", Ct);
        for (var i = 2; i <= 4; i++)
        {
            await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, $"ref-{i},s,i,k");
        }

        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Failed));

        Assert.Equal("QR not scanned and the pairing code not entered", callbacks.Statuses.Last().Reason);
        Assert.Null(callbacks.Qrs.Last());
    }

    [Fact]
    public async Task PairingCode_AlreadyPaired_ThrowsInstanceNotReady()
    {
        var (connection, _) = await PairedAsync(new RecordingCallbacks());

        await Assert.ThrowsAsync<InstanceNotReadyException>(() => connection.RequestPairingCodeAsync("5511999990000", Ct));
    }

    [Fact]
    public async Task PairingCode_RealWaJsBundle_HasTheFunctionThePageScriptCalls()
    {
        var connection = await RealWaJsConnectionAsync();

        var kind = await connection.Page!.EvaluateAsync<string>("() => typeof window.WPP.conn.genLinkDeviceCodeForPhoneNumber");

        Assert.Equal("function", kind);
    }

    [Fact]
    public async Task Leases_TwoSilosRacing_ExactlyOneAcquires()
    {
        var silos = Enumerable.Range(1, 8).Select(i => new GrainStorageWhatsAppAccountLeases(Storage, $"silo-{i}", TimeProvider.System)).ToArray();

        var attempts = await Task.WhenAll(silos.Select(s => Task.Run(() => s.TryAcquireAsync("wa1", TimeSpan.FromMinutes(1), Ct), Ct)));

        var winner = Assert.Single(attempts, a => a.Acquired);
        Assert.All(attempts.Where(a => !a.Acquired), a => Assert.Equal(winner.HolderSilo, a.HolderSilo));
    }

    [Fact]
    public async Task Leases_ReleasedOrExpired_CanBeTakenByAnotherSilo()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var a = new GrainStorageWhatsAppAccountLeases(Storage, "silo-a", time);
        var b = new GrainStorageWhatsAppAccountLeases(Storage, "silo-b", time);

        Assert.True((await a.TryAcquireAsync("wa1", TimeSpan.FromSeconds(30), Ct)).Acquired);
        Assert.Equal("silo-a", (await b.TryAcquireAsync("wa1", TimeSpan.FromSeconds(30), Ct)).HolderSilo);
        await b.ReleaseAsync("wa1", Ct); // not b's to release
        Assert.False((await b.TryAcquireAsync("wa1", TimeSpan.FromSeconds(30), Ct)).Acquired);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.True((await b.TryAcquireAsync("wa1", TimeSpan.FromSeconds(30), Ct)).Acquired);
        Assert.False((await a.TryAcquireAsync("wa1", TimeSpan.FromSeconds(30), Ct)).Acquired);

        await b.ReleaseAsync("wa1", Ct);
        Assert.True((await a.TryAcquireAsync("wa1", TimeSpan.FromSeconds(30), Ct)).Acquired);
    }

    [Fact]
    public async Task Lease_SecondSiloStarts_WaitsNamingTheDrivingSiloThenTakesOverWithoutQr()
    {
        var first = new RecordingCallbacks();
        var (driver, _) = await PairedAsync(first);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);
        var (otherSilo, otherProvider) = OtherSilo("silo-two");

        var second = new RecordingCallbacks();
        var waiting = ConnectTo(otherProvider, second);
        await waiting.StartAsync(Ct);
        await WaitUntilAsync(() => second.Statuses.Any(s => s.Reason?.Contains("driven by silo", StringComparison.Ordinal) == true));

        var reason = second.Statuses.Last().Reason!;
        Assert.Contains(Leases.SiloName, reason, StringComparison.Ordinal);
        Assert.Equal(InstanceStatus.Starting, second.Statuses.Last().Status);
        Assert.Null(waiting.Page);
        Assert.False(waiting.HoldsLease);
        Assert.Equal(1, Fake.PageLoads);

        await driver.StopAsync(Ct);
        await WaitUntilAsync(() => second.Has(InstanceStatus.Ready), 60_000);

        Assert.True(waiting.HoldsLease);
        Assert.Equal(2, Fake.PageLoads);
        Assert.DoesNotContain(second.Qrs, q => q is not null);
        Assert.Equal(MyWid, second.Statuses.Last().Account?.Id);
        Assert.Equal(1, otherSilo.BrowserCount);
    }

    [Fact]
    public async Task Lease_HolderDiedWithoutReleasing_TakenOverAfterItExpires()
    {
        // Five seconds: long enough that a loaded machine still sees the connection waiting before the lease runs out.
        var dead = new GrainStorageWhatsAppAccountLeases(Storage, "dead-silo", TimeProvider.System);
        Assert.True((await dead.TryAcquireAsync("wa1", TimeSpan.FromSeconds(5), Ct)).Acquired);
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);

        await connection.StartAsync(Ct);
        await WaitUntilAsync(() => callbacks.Statuses.Any(s => s.Reason?.Contains("dead-silo", StringComparison.Ordinal) == true));
        Assert.Null(connection.Page);
        var page = await BridgedPageAsync(connection);

        Assert.True(connection.HoldsLease);
        Assert.NotNull(page);
        Assert.Null(callbacks.Statuses.Last().Reason);
    }

    [Fact]
    public async Task Lease_TakenOverWhileDriving_StopsDrivingAndWaits()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, _) = await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);
        var savedBefore = await SessionSavedAtAsync();

        // Another silo that judged the lease expired (a paused process, a clock jump) wrote itself in.
        // The holder renews meanwhile, so the write may meet a newer version: read again and retry, as a thief would.
        for (var attempt = 1; ; attempt++)
        {
            var state = new Orleans.GrainState<AccountLeaseRecord>(new AccountLeaseRecord());
            await Storage.ReadStateAsync(GrainStorageWhatsAppAccountLeases.StateName, GrainId.Create("instance", "wa1"), state, Ct);
            state.State = new AccountLeaseRecord { Holder = "thief", Silo = "silo-thief", ExpiresAt = TimeProvider.System.GetUtcNow().AddMinutes(5) };
            try
            {
                await Storage.WriteStateAsync(GrainStorageWhatsAppAccountLeases.StateName, GrainId.Create("instance", "wa1"), state, Ct);
                break;
            }
            catch (Orleans.Storage.InconsistentStateException) when (attempt < 5)
            {
            }
        }

        await WaitUntilAsync(() => callbacks.Statuses.Any(s => s.Reason?.Contains("silo-thief", StringComparison.Ordinal) == true));
        await WaitUntilAsync(() => connection.Page is null);

        Assert.False(connection.HoldsLease);
        Assert.Equal(InstanceStatus.Starting, callbacks.Statuses.Last().Status);
        await WaitUntilAsync(() => Fake.LivePages == 0);
        Assert.Equal(savedBefore, await SessionSavedAtAsync()); // the new driver's session is not overwritten on the way out
    }

    private async Task<DateTimeOffset> SessionSavedAtAsync()
    {
        var session = new Orleans.GrainState<WhatsAppSessionRecord>(new WhatsAppSessionRecord());
        await Storage.ReadStateAsync(GrainStorageWhatsAppSessionStore.StateName, GrainId.Create("instance", "wa1"), session, Ct);
        Assert.NotNull(session.State);
        return session.State.SavedAt;
    }

    /// <summary>A second silo on the same storage: its own browser pool and its own lease holder.</summary>
    private (BrowserPool Pool, WhatsAppWebProvider Provider) OtherSilo(string name)
    {
        var pool = new BrowserPool(Microsoft.Extensions.Options.Options.Create(Options), NullLogger<BrowserPool>.Instance);
        _otherSilos.Add(pool);
        var leases = new GrainStorageWhatsAppAccountLeases(Storage, name, TimeProvider.System);
        return (pool, new WhatsAppWebProvider(pool, Sessions, leases, Media, Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLoggerFactory.Instance));
    }

    private WhatsAppWebConnection ConnectTo(WhatsAppWebProvider provider, RecordingCallbacks callbacks)
    {
        var connection = (WhatsAppWebConnection)provider.Connect(
            new ConnectionConfig("wa1", WhatsAppWebProvider.ProviderName, new Dictionary<string, string>(), new Dictionary<string, string>(), new AgentSettings()),
            callbacks);
        _otherSilos.Add(connection);
        return connection;
    }
}
