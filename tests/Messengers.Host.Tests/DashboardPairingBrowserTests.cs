using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// The dashboard's phone pairing form in headless Chromium (Playwright), for a WhatsApp Web instance the host drives in
/// its own Chromium against the fake WhatsApp Web page on loopback. Kept apart from the web chat browser test so that
/// one stays short.
/// </summary>
public sealed class DashboardPairingBrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private static readonly float Timeout = 20_000;

    [Fact]
    public async Task Dashboard_WhatsAppWaitingForPairing_PhoneFormShowsCodeAndNamesBadNumbers()
    {
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (tests/run.sh installs it with apt-get install chromium).");
        await using var whatsApp = await FakeWhatsAppWebServer.StartAsync();
        await using var backends = new EmbeddedHostFixture(); // only for a temp data folder that it deletes afterwards
        var settings = await backends.NewBackendAsync();
        settings["Messengers:WhatsAppWeb:Url"] = whatsApp.Url;
        settings["Messengers:WhatsAppWeb:InjectWaJs"] = "false";
        await using var factory = new MessengersFactory(settings);
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal))
            .First(a => a.StartsWith("http://", StringComparison.Ordinal));

        using var admin = new HttpClient { BaseAddress = new Uri(address) };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", HostFixture.AdminKey);
        var created = await (await admin.PostAsync(Instances, Json(new { name = "Pair by phone", provider = "whatsapp-web", agent = new { backend = "echo" } }), Ct)).ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        await whatsApp.WaitForPagesAsync(1);
        await whatsApp.EmitQrAsync("ref-1,static,identity,secret");
        await Eventually.UntilAsync(() => admin.GetInstanceAsync(id), i => i.Status() == "QrReady", TimeSpan.FromSeconds(60), "the instance to wait for pairing");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        await using var context = await browser.NewContextAsync(new() { BaseURL = address, ViewportSize = new() { Width = 1280, Height = 800 } });
        context.SetDefaultTimeout(Timeout);
        var pageErrors = new List<string>();
        var page = await context.NewPageAsync();
        page.PageError += (_, error) => pageErrors.Add(error);
        await page.GotoAsync("/");
        await page.FillAsync("#signin-key", HostFixture.AdminKey);
        await page.ClickAsync("#signin-submit");

        // WhatsApp shows a new code every few seconds; the first may have expired while the browser started on a busy
        // machine. The next one reaches the open page through the live feed.
        await whatsApp.EmitQrAsync("ref-2,static,identity,secret");
        var panel = page.Locator($"tr[data-qr-for=\"{id}\"]");
        await Assertions.Expect(panel.Locator("[data-testid=qr-image]")).ToBeVisibleAsync(new() { Timeout = Timeout });
        var phone = panel.Locator("[data-testid=pair-phone]");
        var submit = panel.Locator("[data-testid=pair-submit]");

        // A number the API refuses: its reason is shown beside the field.
        await phone.FillAsync("0511999990000");
        await submit.ClickAsync();
        await Assertions.Expect(panel.Locator("[data-testid=pair-result][data-kind=error]")).ToContainTextAsync("E.164", new() { Timeout = Timeout });
        await Assertions.Expect(phone).ToHaveAttributeAsync("aria-invalid", "true");

        await phone.FillAsync("+5511999990000");
        await submit.ClickAsync();
        await Assertions.Expect(panel.Locator("[data-testid=pairing-code]")).ToHaveTextAsync("FAKE-1234", new() { Timeout = Timeout });
        await Assertions.Expect(phone).ToHaveAttributeAsync("aria-invalid", "false");
        Assert.Equal("5511999990000", await whatsApp.PairingPhoneAsync());
        var shot = Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard-pairing.png");
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });

        // Once paired the panel goes away with the QR code.
        await whatsApp.AuthenticateAsync("5511999990000@c.us");
        await Assertions.Expect(panel).ToHaveCountAsync(0, new() { Timeout = Timeout });
        Assert.Empty(pageErrors);
        TestContext.Current.SendDiagnosticMessage($"Screenshot: {shot}");
    }
}
