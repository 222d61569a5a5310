using System.Net;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// What the <c>whatsapp-web</c> host tests share: the host's own headless Chromium against the fake WhatsApp Web page on
/// loopback (one fake per test), hosts on fresh storage, and the QR helpers.
/// </summary>
public abstract class WhatsAppWebHostTestBase : IAsyncLifetime
{
    protected const string ChromiumPath = "/usr/bin/chromium";
    protected const string MyWid = "5511999990000@c.us";
    protected const string Customer = "5511988887777@c.us";

    private readonly EmbeddedHostFixture _backend = new();

    /// <summary>Hosts started by the test, disposed after it (a test that stops one itself removes it first).</summary>
    protected List<MessengersFactory> Hosts { get; } = [];

    /// <summary>Servers started by the test (databases, receivers), disposed after the hosts.</summary>
    protected List<IAsyncDisposable> Servers { get; } = [];

    /// <summary>The fake WhatsApp Web page of this test.</summary>
    protected FakeWhatsAppWebServer Fake { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (tests/run.sh installs it with apt-get install chromium).");
        Fake = await FakeWhatsAppWebServer.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts)
        {
            await host.DisposeAsync();
        }

        if (Fake is not null)
        {
            await Fake.DisposeAsync();
        }

        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }

        await _backend.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>A fresh backend: SQLite with in-memory streams, or (<paramref name="storage"/> "postgres") PostgreSQL and Redis, as a cluster shares them.</summary>
    protected async Task<Dictionary<string, string?>> BackendAsync(string storage = "sqlite")
    {
        var settings = await _backend.NewBackendAsync();
        if (storage == "postgres")
        {
            var postgres = new PostgresServer();
            Servers.Add(postgres);
            await postgres.InitializeAsync();
            var redis = await RedisServer.StartAsync();
            Servers.Add(redis);
            settings["Messengers:Storage"] = "postgres";
            settings["Messengers:Streams"] = "redis";
            settings["ConnectionStrings:Postgres"] = await ProductionHostFixture.NewDatabaseAsync(postgres, "lease");
            settings["ConnectionStrings:Redis"] = redis.ConnectionString;
        }

        settings["Messengers:WhatsAppWeb:Url"] = Fake.Url;
        settings["Messengers:WhatsAppWeb:InjectWaJs"] = "false";
        settings["Messengers:WhatsAppWeb:MaxQrCodes"] = "3";
        settings["Messengers:WhatsAppWeb:RestartDelay"] = "00:00:00.200";
        settings["Messengers:WhatsAppWeb:LeaseDuration"] = "00:00:10"; // renewals outlast a loaded 2-core machine's stalls
        return settings;
    }

    protected MessengersFactory StartHost(Dictionary<string, string?> settings, string? siloName = null)
    {
        var own = new Dictionary<string, string?>(settings);
        if (siloName is not null)
        {
            own["Orleans:Name"] = siloName;
        }

        var host = new MessengersFactory(own);
        Hosts.Add(host);
        _ = host.Server;
        return host;
    }

    protected static async Task<string> CreateWhatsAppInstanceAsync(HttpClient admin)
    {
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new
        {
            name = "whatsapp support",
            provider = "whatsapp-web",
            agent = new { backend = "echo" },
        }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        return created.GetProperty("id").GetString()!;
    }

    protected static Task<HttpResponseMessage> GetQrAsync(HttpClient client, string id, string format = "raw")
        => client.GetAsync($"{TestApi.Instances}/{id}/qr?format={format}", TestApi.Ct);

    /// <summary>Emits a QR code in the page and waits until GET /qr shows it; returns the view and when the emit began.</summary>
    protected async Task<(JsonElement Qr, DateTimeOffset EmittedAt, DateTimeOffset SeenAt)> EmitAndSeeQrAsync(HttpClient admin, string id, string code)
    {
        var emittedAt = TimeProvider.System.GetUtcNow();
        await Fake.EmitQrAsync(code);
        var qr = await Eventually.UntilAsync(
            async () =>
            {
                var response = await GetQrAsync(admin, id);
                return response.StatusCode == HttpStatusCode.OK ? await response.ReadJsonAsync() : default;
            },
            view => view.ValueKind == JsonValueKind.Object && view.GetProperty("qr").GetString() == code,
            what: $"GET /qr to show {code}");
        return (qr, emittedAt, TimeProvider.System.GetUtcNow());
    }

    /// <summary>For waits that include starting a host and its Chromium on a busy machine.</summary>
    protected static Task<JsonElement> SlowStatusAsync(HttpClient client, string id, string status)
        => Eventually.UntilAsync(() => client.GetInstanceAsync(id), i => i.Status() == status, TimeSpan.FromSeconds(60), $"instance {id} to be {status}");

    protected static void AssertExpiresAfter(JsonElement qr, DateTimeOffset emittedAt, DateTimeOffset seenAt, TimeSpan lifetime)
    {
        var expiresAt = qr.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, emittedAt + lifetime, seenAt + lifetime);
    }
}

/// <summary>
/// A <c>whatsapp-web</c> instance through the whole gateway, in the host's own headless Chromium, against the fake
/// WhatsApp Web page on loopback. The page is driven from the fake's server side (the host owns the browser).
/// </summary>
public sealed class WhatsAppWebHostTests : WhatsAppWebHostTestBase
{
    [Fact]
    public async Task Qr_RotatingCodes_ShownByGetQrWithTheirExpiryThenFailedQrNotScanned()
    {
        var host = StartHost(await BackendAsync());
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var id = await CreateWhatsAppInstanceAsync(admin);
        await Fake.WaitForPagesAsync(1);
        await (await GetQrAsync(admin, id)).ExpectProblemAsync(HttpStatusCode.NotFound, "no valid QR code");

        var (first, emitted1, seen1) = await EmitAndSeeQrAsync(admin, id, "ref-1,static,identity,secret");
        Assert.Equal("QrReady", (await admin.GetInstanceAsync(id)).Status());
        AssertExpiresAfter(first, emitted1, seen1, TimeSpan.FromSeconds(60));
        var png = await GetQrAsync(admin, id, "png");
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, (await png.Content.ReadAsByteArrayAsync(TestApi.Ct))[..4]);
        Assert.Equal(first.GetProperty("expiresAt").GetDateTimeOffset(), DateTimeOffset.Parse(png.Headers.GetValues("X-QR-Expires-At").Single(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(png.Headers.CacheControl?.NoStore);

        var (second, emitted2, seen2) = await EmitAndSeeQrAsync(admin, id, "ref-2,static,identity,secret");
        AssertExpiresAfter(second, emitted2, seen2, TimeSpan.FromSeconds(20));
        await EmitAndSeeQrAsync(admin, id, "ref-3,static,identity,secret");
        await Fake.EmitQrAsync("ref-4,static,identity,secret");

        var failed = await admin.WaitForStatusAsync(id, "Failed");
        Assert.Equal("QR not scanned", failed.GetProperty("statusReason").GetString());
        await (await GetQrAsync(admin, id)).ExpectProblemAsync(HttpStatusCode.NotFound, "QR not scanned");
    }

    [Fact]
    public async Task PairingCode_RequestedWhileWaiting_ReturnsThePageCodeAndPairsWhenEntered()
    {
        var host = StartHost(await BackendAsync());
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var id = await CreateWhatsAppInstanceAsync(admin);
        await Fake.WaitForPagesAsync(1);
        await EmitAndSeeQrAsync(admin, id, "ref-1,static,identity,secret");
        var route = $"{TestApi.Instances}/{id}/pairing-code";

        await (await admin.PostAsync(route, TestApi.Json(new { phoneNumber = "+55 11 99999-0000" }), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "phoneNumber", "E.164");
        await (await admin.PostAsync(route, TestApi.Json(new { phoneNumber = "0511999990000" }), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "phoneNumber");
        var pairing = await (await admin.PostAsync(route, TestApi.Json(new { phoneNumber = "+5511999990000" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("FAKE1234", pairing.GetProperty("code").GetString());
        Assert.Equal("5511999990000", pairing.GetProperty("phoneNumber").GetString());
        Assert.Equal("5511999990000", await Fake.PairingPhoneAsync());

        await Fake.AuthenticateAsync(MyWid);
        var ready = await admin.WaitForStatusAsync(id, "Ready");
        Assert.Equal(MyWid, ready.GetProperty("account").GetProperty("id").GetString());
        await (await admin.PostAsync(route, TestApi.Json(new { phoneNumber = "+5511999990000" }), TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.Conflict, "paired already");
        await (await GetQrAsync(admin, id)).ExpectProblemAsync(HttpStatusCode.Conflict, "paired");
    }

    [Fact]
    public async Task PairingCode_ProviderWithoutQrOrStoppedInstance_422And409()
    {
        var host = StartHost(await BackendAsync());
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var webChat = await admin.CreateWebChatAsync();
        var whatsApp = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new { name = "stopped", provider = "whatsapp-web", start = false }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        var body = TestApi.Json(new { phoneNumber = "+5511999990000" });

        await (await admin.PostAsync($"{TestApi.Instances}/{webChat.Id}/pairing-code", body, TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "pairing by phone code");
        await (await GetQrAsync(admin, webChat.Id)).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity, "QR");
        await (await admin.PostAsync($"{TestApi.Instances}/{whatsApp.GetProperty("id").GetString()}/pairing-code", TestApi.Json(new { phoneNumber = "+5511999990000" }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.Conflict, "not waiting for pairing");
        await (await admin.PostAsync($"{TestApi.Instances}/nosuchinstance/pairing-code", TestApi.Json(new { phoneNumber = "+5511999990000" }), TestApi.Ct))
            .ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task MessageLoop_ScannedQrInboundEchoReply_IdsMatchAndRestartRestoresWithoutQr()
    {
        var settings = await BackendAsync();
        var host = StartHost(settings);
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var id = await CreateWhatsAppInstanceAsync(admin);
        await Fake.WaitForPagesAsync(1);
        await EmitAndSeeQrAsync(admin, id, "ref-1,static,identity,secret");

        await Fake.AuthenticateAsync(MyWid);
        var ready = await admin.WaitForStatusAsync(id, "Ready");
        Assert.Equal(MyWid, ready.GetProperty("account").GetProperty("id").GetString());
        await (await GetQrAsync(admin, id)).ExpectProblemAsync(HttpStatusCode.Conflict, "paired");

        var inboundId = await Fake.ReceiveAsync(new { from = Customer, body = "hi there", notifyName = "Ann" });
        var reply = await Eventually.UntilAsync(() => Task.FromResult(Fake.Sent), sent => sent.Count == 1, what: "the echo reply sent by the page");
        Assert.Equal((Customer, "Echo: hi there"), (reply[0].ChatId, reply[0].Content));

        var sent = await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages", TestApi.Json(new { chatId = Customer, text = "from the API" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        // The page reports its sends to the fake server with a fetch of its own, so the record may trail the answer.
        var apiSend = (await Eventually.UntilAsync(() => Task.FromResult(Fake.Sent), s => s.Any(m => m.Content == "from the API"), what: "the API send in the page"))
            .Single(m => m.Content == "from the API");
        Assert.Equal(apiSend.Id, sent.GetProperty("id").GetString());

        var history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/{Customer}/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() == 3,
            what: "the three messages in the history");
        var byId = history.Items().ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("body").GetString());
        Assert.Equal("hi there", byId[inboundId]);
        Assert.Equal("Echo: hi there", byId[reply[0].Id]);
        Assert.Equal("from the API", byId[apiSend.Id]);

        // Restart: the saved session comes back; the fake emits no QR unless told, so Ready proves it was restored.
        Hosts.Remove(host);
        await host.DisposeAsync();
        var restarted = StartHost(settings);
        using var admin2 = HostFixture.Client(restarted, HostFixture.AdminKey);
        var again = await SlowStatusAsync(admin2, id, "Ready");
        await Fake.WaitForPagesAsync(2);

        Assert.Equal(MyWid, again.GetProperty("account").GetProperty("id").GetString());
        Assert.Equal(2, Fake.RegisteredPages);
        Assert.Equal(MyWid, (await Fake.RunAsync("idbWid")).GetString());
        await (await GetQrAsync(admin2, id)).ExpectProblemAsync(HttpStatusCode.Conflict, "paired");
        await Fake.ReceiveAsync(new { from = Customer, body = "still there?" });
        await Eventually.UntilAsync(() => Task.FromResult(Fake.Sent), s => s.Any(m => m.Content == "Echo: still there?"), what: "the echo after the restart");

        // Deleting the instance deletes its saved login too: a session must not outlive its instance.
        var sessions = restarted.Services.GetRequiredService<Messengers.Providers.WhatsAppWeb.IWhatsAppSessionStore>();
        Assert.NotNull(await sessions.LoadAsync(id, TestApi.Ct));
        await (await admin2.DeleteAsync($"{TestApi.Instances}/{id}", TestApi.Ct)).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Null(await sessions.LoadAsync(id, TestApi.Ct));
    }

    [Fact]
    public async Task Reaction_CustomerReactsToEchoReply_StoredCountedAndWebhookedNotAnswered()
    {
        var hooks = new System.Collections.Concurrent.ConcurrentQueue<JsonElement>();
        var receiver = await Messengers.Testing.Fakes.LoopbackHttpServer.StartAsync(async context =>
        {
            hooks.Enqueue((await JsonDocument.ParseAsync(context.Request.Body)).RootElement.Clone());
            context.Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status204NoContent;
        });
        Servers.Add(receiver);
        var host = StartHost(await BackendAsync());
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var id = await CreateWhatsAppInstanceAsync(admin);
        await (await admin.PostAsync($"{TestApi.Instances}/{id}/webhooks", TestApi.Json(new { url = receiver.BaseUrl + "/hooks", events = new[] { "message.received", "message.reaction" } }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        await Fake.WaitForPagesAsync(1);
        await EmitAndSeeQrAsync(admin, id, "ref-1,static,identity,secret");
        await Fake.AuthenticateAsync(MyWid);
        await admin.WaitForStatusAsync(id, "Ready");
        await Fake.ReceiveAsync(new { from = Customer, body = "is it in stock?" });
        var echo = (await Eventually.UntilAsync(() => Task.FromResult(Fake.Sent), s => s.Count == 1, what: "the echo reply"))[0];

        var reaction = await Fake.ReactAsync(new { msgId = echo.Id, from = Customer, emoji = "👍" });
        // The agent lane of a chat works in order: once the next message is answered, the reaction was seen and skipped.
        await Fake.ReceiveAsync(new { from = Customer, body = "thanks" });
        await Eventually.UntilAsync(() => Task.FromResult(Fake.Sent), s => s.Any(m => m.Content == "Echo: thanks"), what: "the echo of the next message");

        Assert.Equal(["Echo: is it in stock?", "Echo: thanks"], Fake.Sent.Select(m => m.Content).Order(StringComparer.Ordinal));
        var history = await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/{Customer}/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        var stored = Assert.Single(history.Items(), m => m.GetProperty("id").GetString() == reaction);
        Assert.Equal(("reaction", "👍", echo.Id, Customer), (stored.GetProperty("type").GetString(), stored.GetProperty("body").GetString(), stored.GetProperty("replyTo").GetString(), stored.GetProperty("from").GetString()));
        await Eventually.UntilAsync(() => admin.GetInstanceAsync(id), i => i.Counters() == (3, 2), what: "counters 3 in (two messages, one reaction), 2 out");
        var events = await Eventually.UntilAsync(() => Task.FromResult(hooks.ToArray()), h => h.Length == 3, what: "two message.received and one message.reaction webhook");
        var reacted = Assert.Single(events, e => e.GetProperty("event").GetString() == "message.reaction").GetProperty("data");
        Assert.Equal((reaction, "👍", echo.Id, false), (reacted.GetProperty("messageId").GetString(), reacted.GetProperty("reaction").GetProperty("emoji").GetString(),
            reacted.GetProperty("reaction").GetProperty("messageId").GetString(), reacted.GetProperty("reaction").GetProperty("removed").GetBoolean()));
        Assert.Equal(2, events.Count(e => e.GetProperty("event").GetString() == "message.received"));
    }
}
