using System.Diagnostics;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Providers.WhatsAppWeb;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>The WhatsApp Web provider in real headless Chromium against the fake page.</summary>
public sealed class WhatsAppWebProviderTests : WhatsAppWebTestBase
{
    [Fact]
    public async Task Qr_UnscannedCodes_RotateWithExpiryThenFailQrNotScanned()
    {
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);

        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, "ref-1,s,i,k");
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.QrReady));
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, "ref-2,s,i,k");
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, "ref-3,s,i,k");
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Failed));

        var codes = callbacks.Qrs.ToArray();
        var received = callbacks.QrReceivedAt.ToArray();
        Assert.Equal(["ref-1,s,i,k", "ref-2,s,i,k", "ref-3,s,i,k"], codes.Where(q => q is not null).Select(q => q!.Code));
        Assert.InRange((codes[0]!.ExpiresAt - received[0]).TotalSeconds, 1.2, 1.8);
        Assert.InRange((codes[1]!.ExpiresAt - received[1]).TotalSeconds, 0.3, 0.9);
        Assert.Null(codes[^1]);
        var failed = callbacks.Statuses.Last();
        Assert.Equal((InstanceStatus.Failed, "QR not scanned"), (failed.Status, failed.Reason));
        Assert.True(received[^1] - received[2] >= TimeSpan.FromSeconds(0.5), "the last code lives its full lifetime before the instance fails");
        Assert.Null(connection.Page);
    }

    [Fact]
    public async Task Qr_MoreCodesThanAllowed_FailsAtOnce()
    {
        // Codes live ten minutes: failing within the wait below can only be the fourth code's doing, not an expiry.
        Options.QrLifetime = TimeSpan.FromMinutes(10);
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);

        for (var i = 1; i <= 4; i++)
        {
            await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, $"ref-{i},s,i,k");
        }

        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Failed), 60_000);
        Assert.Equal(3, callbacks.Qrs.Count(q => q is not null));
        Assert.Equal("QR not scanned", callbacks.Statuses.Last().Reason);
    }

    [Fact]
    public async Task Pairing_ScannedQr_ReportsAuthenticatedThenReadyWithAccount()
    {
        var callbacks = new RecordingCallbacks();
        await PairedAsync(callbacks);

        var statuses = callbacks.Statuses.Select(s => s.Status).ToArray();
        Assert.Equal([InstanceStatus.Starting, InstanceStatus.QrReady, InstanceStatus.Authenticated, InstanceStatus.Ready], statuses);
        Assert.Equal(MyWid, callbacks.Statuses.Last().Account?.Id);
        Assert.Null(callbacks.Qrs.Last());
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);
    }

    [Fact]
    public async Task PairingCode_RequestedBeforeScan_ReturnsPageCode()
    {
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);

        var code = await connection.RequestPairingCodeAsync("5511999990000", Ct);

        Assert.Equal("FAKE1234", code);
        Assert.Equal("5511999990000", await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.PairingPhone));
    }

    [Fact]
    public async Task Receive_IncomingMessages_ReachCallbacksWithPageIds()
    {
        var callbacks = new RecordingCallbacks();
        var (_, page) = await PairedAsync(callbacks);

        var direct = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new { from = "5511888880000@c.us", body = "hello", notifyName = "Ann" });
        await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new { from = "5511888880000@c.us", body = "echo of my own", fromMe = true });
        var group = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new { from = "120363000000000001@g.us", author = "5511777770000@c.us", body = "hi all" });
        await WaitUntilAsync(() => callbacks.Messages.Count >= 2);

        var messages = callbacks.Messages.ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal((direct, "5511888880000@c.us", "hello", "Ann", false), (messages[0].MessageId, messages[0].ChatId, messages[0].Body, messages[0].ContactName, messages[0].IsGroup));
        Assert.Equal((group, "120363000000000001@g.us", "5511777770000@c.us", true), (messages[1].MessageId, messages[1].ChatId, messages[1].From, messages[1].IsGroup));
        Assert.Equal("120363000000000001@g.us", messages[1].GroupId);
    }

    [Fact]
    public async Task Send_Text_ReturnsThePageMessageIdOnce()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, page) = await PairedAsync(callbacks);

        var first = await connection.SendAsync(new OutgoingMessage { ChatId = "5511888880000@c.us", Text = "hi", ClientMessageId = "c1" }, Ct);
        var again = await connection.SendAsync(new OutgoingMessage { ChatId = "5511888880000@c.us", Text = "hi", ClientMessageId = "c1" }, Ct);
        var reply = await connection.SendAsync(new OutgoingMessage { ChatId = "5511888880000@c.us", Text = "re", ReplyToMessageId = first.MessageId }, Ct);
        await connection.MarkReadAsync("5511888880000@c.us", Ct);
        await connection.SetTypingAsync("5511888880000@c.us", true, Ct);
        await connection.SetTypingAsync("5511888880000@c.us", false, Ct);

        await WaitUntilAsync(() => Fake.Sent.Count >= 2);
        Assert.Equal(first, again);
        Assert.Equal([first.MessageId, reply.MessageId], Fake.Sent.Select(s => s.Id).Order(StringComparer.Ordinal)); // the page posts them concurrently
        Assert.Equal(first.MessageId, Fake.Sent.Single(s => s.Id == reply.MessageId).QuotedMsg);
        Assert.Equal(["5511888880000@c.us"], await page.EvaluateAsync<string[]>(FakeWhatsAppWebServer.Js.Reads));
        Assert.Equal(["5511888880000@c.us:true", "5511888880000@c.us:false"], await page.EvaluateAsync<string[]>(FakeWhatsAppWebServer.Js.Typing));
    }

    [Fact]
    public async Task Receive_ImageMessage_DownloadsMediaIntoTheStore()
    {
        var callbacks = new RecordingCallbacks();
        var (_, page) = await PairedAsync(callbacks);
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 250, 251, 252];

        var id = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.Receive, new
        {
            from = "5511888880000@c.us", type = "image", data = Convert.ToBase64String(png), mimetype = "image/png", caption = "look",
        });
        await WaitUntilAsync(() => !callbacks.Messages.IsEmpty);

        var message = Assert.Single(callbacks.Messages);
        Assert.Equal((id, "image", "look"), (message.MessageId, message.Type, message.Body));
        Assert.NotNull(message.Media);
        var stored = await Media.OpenAsync("wa1", message.Media.MediaId, Ct);
        Assert.NotNull(stored);
        await using var content = stored.Value.Content;
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, Ct);
        Assert.Equal(png, copy.ToArray());
        Assert.Equal("image/png", stored.Value.Media.ContentType);
    }

    [Fact]
    public async Task Send_MediaFromStore_SendsFileWithCaptionAndReturnsPageId()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, _) = await PairedAsync(callbacks);
        using var bytes = new MemoryStream([1, 2, 3, 4, 5, 6, 7]);
        var media = await Media.SaveAsync("wa1", bytes, "application/pdf", "report.pdf", Ct);

        var sent = await connection.SendAsync(new OutgoingMessage { ChatId = "5511888880000@c.us", Text = "the report", Media = media }, Ct);

        await WaitUntilAsync(() => Fake.Sent.Count > 0);
        var recorded = Assert.Single(Fake.Sent);
        Assert.Equal((sent.MessageId, "the report", "application/pdf", "document", 7), (recorded.Id, recorded.Content, recorded.Mimetype, recorded.FileType, recorded.Size));
    }

    [Fact]
    public async Task Send_BeforeReady_ThrowsInstanceNotReady()
    {
        var connection = Connect(new RecordingCallbacks());
        await connection.StartAsync(Ct);
        await BridgedPageAsync(connection);

        await Assert.ThrowsAsync<InstanceNotReadyException>(() => connection.SendAsync(new OutgoingMessage { ChatId = "5511888880000@c.us", Text = "x" }, Ct));
    }

    [Fact]
    public async Task Browser_Killed_InstanceReportsDisconnectedAndRecoversReadyWithoutQr()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, _) = await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);
        var codesBefore = callbacks.Qrs.Count(q => q is not null);
        var pid = Assert.Single(Pool.BrowserProcessIds());

        Process.GetProcessById(pid).Kill();
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Disconnected));
        await WaitUntilAsync(() => callbacks.Count(InstanceStatus.Ready) >= 2, 60_000);

        Assert.Equal(codesBefore, callbacks.Qrs.Count(q => q is not null));
        Assert.True(connection.SessionCount is 2 or 3, string.Join(", ", callbacks.Statuses.Select(s => $"{s.Status}:{s.Reason}"))); // a third when the first restart met the dying browser
        var newPid = Assert.Single(Pool.BrowserProcessIds());
        Assert.NotEqual(pid, newPid);
        Assert.True(connection.IsReady);
    }

    [Fact]
    public async Task Page_ReloadedByItself_SessionRestartsAndIsReadyAgain()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, page) = await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);

        await page.EvaluateAsync("() => setTimeout(() => location.reload(), 10)");
        await WaitUntilAsync(() => callbacks.Count(InstanceStatus.Ready) >= 2, 60_000);

        Assert.Contains(callbacks.Statuses, s => s is { Status: InstanceStatus.Disconnected, Reason: "the page reloaded" });
        Assert.Equal(2, connection.SessionCount);
    }

    [Fact]
    public async Task Restart_PageNeverLoads_BacksOffThenFailsAfterMaxRestarts()
    {
        await Pool.DisposeAsync();
        Options.Url = "http://127.0.0.1:1/";
        Options.MaxRestarts = 2;
        Options.RestartDelay = TimeSpan.FromMilliseconds(50);
        NewPool();
        var callbacks = new RecordingCallbacks();
        var connection = Connect(callbacks);

        await connection.StartAsync(Ct);
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Failed), 60_000);

        Assert.Equal([InstanceStatus.Starting, InstanceStatus.Disconnected, InstanceStatus.Disconnected, InstanceStatus.Failed], callbacks.Statuses.Select(s => s.Status));
        Assert.StartsWith("gave up after 2 restarts", callbacks.Statuses.Last().Reason, StringComparison.Ordinal);
        Assert.Equal(3, connection.SessionCount);
    }

    [Fact]
    public async Task HostRestart_SavedSession_RestoresReadyWithoutNewQr()
    {
        var first = new RecordingCallbacks();
        var (connection, _) = await PairedAsync(first);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);
        await connection.DisposeAsync();
        await Pool.DisposeAsync();

        NewPool();
        var second = new RecordingCallbacks();
        var restored = Connect(second);
        await restored.StartAsync(Ct);
        await WaitUntilAsync(() => second.Has(InstanceStatus.Ready), 60_000);

        Assert.DoesNotContain(second.Qrs, q => q is not null);
        Assert.DoesNotContain(second.Statuses, s => s.Status is InstanceStatus.QrReady or InstanceStatus.Failed or InstanceStatus.Disconnected);
        Assert.Equal(InstanceStatus.Ready, second.Statuses.Last().Status);
        Assert.Equal(MyWid, second.Statuses.Last().Account?.Id);
        Assert.Equal(MyWid, await restored.Page!.EvaluateAsync<string?>(FakeWhatsAppWebServer.Js.IndexedDbWid));
    }

    [Fact]
    public async Task SessionStore_ReadySession_IsSavedAgainPeriodically()
    {
        Options.SessionSaveInterval = TimeSpan.FromMilliseconds(300);
        var callbacks = new RecordingCallbacks();
        await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);

        await Sessions.ClearAsync("wa1", Ct);

        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);
    }

    [Fact]
    public async Task SessionStore_SavedState_IsEncryptedAtRest()
    {
        var callbacks = new RecordingCallbacks();
        await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);

        var state = new Orleans.GrainState<WhatsAppSessionRecord>(new WhatsAppSessionRecord());
        await Storage.ReadStateAsync(GrainStorageWhatsAppSessionStore.StateName, Orleans.Runtime.GrainId.Create("instance", "wa1"), state, Ct);

        Assert.True(state.RecordExists);
        Assert.NotNull(state.State);
        Assert.DoesNotContain("5511999990000", state.State.ProtectedState, StringComparison.Ordinal);
        Assert.Contains("5511999990000", await Sessions.LoadAsync("wa1", Ct), StringComparison.Ordinal);
        var row = await StoredPayloadAsync(GrainStorageWhatsAppSessionStore.StateName, "wa1");
        Assert.NotNull(row);
        Assert.Equal(-1, row.AsSpan().IndexOf("5511999990000"u8));
    }

    [Fact]
    public async Task Logout_ReadyInstance_ClearsSessionAndReportsStopped()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, page) = await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);

        await connection.LogoutAsync(Ct);

        Assert.Null(await Sessions.LoadAsync("wa1", Ct));
        Assert.Equal((InstanceStatus.Stopped, "logged out"), (callbacks.Statuses.Last().Status, callbacks.Statuses.Last().Reason));
        Assert.Null(connection.Page);
    }

    [Fact]
    public async Task Logout_FromPhone_ClearsSessionAndFails()
    {
        var callbacks = new RecordingCallbacks();
        var (connection, page) = await PairedAsync(callbacks);
        await WaitUntilAsync(async () => await Sessions.LoadAsync("wa1", Ct) is not null);

        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.Logout, "phone");
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Failed));

        Assert.Equal("logged out (phone)", callbacks.Statuses.Last().Reason);
        Assert.Null(await Sessions.LoadAsync("wa1", Ct));
    }

    [Fact]
    public async Task Pool_SeveralInstances_ShareOneBrowserProcessWithSeparateContexts()
    {
        var callbacks = Enumerable.Range(0, 3).Select(_ => new RecordingCallbacks()).ToArray();
        var connections = callbacks.Select((c, i) => Connect(c, $"wa{i}")).ToArray();
        foreach (var connection in connections)
        {
            await connection.StartAsync(Ct);
        }

        var pages = new List<Microsoft.Playwright.IPage>();
        foreach (var connection in connections)
        {
            pages.Add(await BridgedPageAsync(connection));
        }

        await pages[0].EvaluateAsync(FakeWhatsAppWebServer.Js.Authenticate, MyWid);
        await WaitUntilAsync(() => callbacks[0].Has(InstanceStatus.Ready));

        Assert.Equal(1, Pool.BrowserCount);
        Assert.Single(Pool.BrowserProcessIds());
        Assert.False(await pages[1].EvaluateAsync<bool>(FakeWhatsAppWebServer.Js.IsAuthenticated));
        Assert.False(callbacks[1].Has(InstanceStatus.Ready));
    }

    [Fact]
    public async Task Injection_RealWaJsBundle_LoadsAfterWppConfigAndPhonesNowhere()
    {
        var connection = await RealWaJsConnectionAsync();
        var config = await connection.Page!.EvaluateAsync<string>("() => JSON.stringify([window.WPPConfig.disableGoogleAnalytics, window.WPPConfig.linkPreviewApiServers, window.WPP.isReady])");
        await Task.Delay(1500, Ct);

        Assert.Equal("[true,[],false]", config); // never ready off WhatsApp: the bridge keeps waiting
        Assert.Equal(0, Pool.BlockedRequests);
    }

    [Fact]
    public async Task RequestBlocker_ExternalUrl_IsBlockedAndCounted()
    {
        var connection = Connect(new RecordingCallbacks());
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);

        var outcome = await page.EvaluateAsync<string>(FakeWhatsAppWebServer.Js.ProbeExternal, "https://analytics.google.com/g/collect");

        Assert.Equal("blocked", outcome);
        Assert.True(Pool.BlockedRequests >= 1);
    }
}

/// <summary>Pool and provider rules that need no browser.</summary>
public sealed class BrowserPoolRulesTests
{
    private static BrowserPool NewPool(WhatsAppWebOptions options)
        => new(Microsoft.Extensions.Options.Options.Create(options), NullLogger<BrowserPool>.Instance);

    [Theory]
    [InlineData("https://web.whatsapp.com/", true)]
    [InlineData("wss://web.whatsapp.com/ws/chat", true)]
    [InlineData("https://mmg.whatsapp.net/v/t62/abc", true)]
    [InlineData("http://127.0.0.1:5000/x", true)]
    [InlineData("http://[::1]:5000/x", true)]
    [InlineData("http://localhost:5000/x", true)]
    [InlineData("data:image/png;base64,AAAA", true)]
    [InlineData("https://analytics.google.com/g/collect", false)]
    [InlineData("https://wajsapi.titanchat.com.br/x", false)]
    [InlineData("https://whatsapp.net.evil.example/", false)]
    [InlineData("ftp://web.whatsapp.com/", false)]
    public async Task IsAllowed_Url_OnlyWhatsAppAndLoopback(string url, bool allowed)
    {
        await using var pool = NewPool(new WhatsAppWebOptions());
        Assert.Equal(allowed, pool.IsAllowed(url));
    }

    [Fact]
    public async Task EnterStart_MoreThanAllowed_WaitsForASlot()
    {
        await using var pool = NewPool(new WhatsAppWebOptions { MaxConcurrentStarts = 2 });
        var a = await pool.EnterStartAsync(TestContext.Current.CancellationToken);
        var b = await pool.EnterStartAsync(TestContext.Current.CancellationToken);
        var third = pool.EnterStartAsync(TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(third.IsCompleted);

        a.Dispose();
        (await third).Dispose();
        b.Dispose();
    }

    [Theory]
    [InlineData("5511999990000@c.us", true)]
    [InlineData("120363000000000001@g.us", true)]
    [InlineData("123456789012345@lid", true)]
    [InlineData("5511999990000", false)]
    [InlineData("abc@c.us", false)]
    public void IsValidChatId_Forms_AcceptsWhatsAppIds(string chatId, bool valid)
    {
        var provider = new WhatsAppWebProvider(NewPool(new WhatsAppWebOptions()), null!, null!, null!, Microsoft.Extensions.Options.Options.Create(new WhatsAppWebOptions()), TimeProvider.System, NullLoggerFactory.Instance);
        Assert.Equal(valid, provider.IsValidChatId(chatId));
    }
}
