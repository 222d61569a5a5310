using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// The dashboard and the web chat page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), against
/// the embedded host listening on a real Kestrel port. Screenshots go to <c>bin/…/artifacts/</c>.
/// </summary>
public sealed class BrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private static readonly float Timeout = 15_000;

    [Fact]
    public async Task Dashboard_CreateWebChatAndChat_EchoShownInBrowser()
    {
        Assert.SkipUnless(File.Exists(ChromiumPath), $"{ChromiumPath} is not installed (tests/run.sh installs it with apt-get install chromium).");
        var artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(artifacts);

        await using var backends = new EmbeddedHostFixture(); // only for a temp data folder that it deletes afterwards
        await using var factory = new MessengersFactory(await backends.NewBackendAsync());
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal))
            .First(a => a.StartsWith("http://", StringComparison.Ordinal));
        using (var probe = new HttpClient { BaseAddress = new Uri(address) })
        {
            Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/health", Ct)).StatusCode);
        }

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
        await page.WaitForSelectorAsync("#create-name");

        await page.FillAsync("#create-name", "Browser chat");
        await page.SelectOptionAsync("#create-provider", "webchat");
        await page.SelectOptionAsync("#create-backend", "echo");
        await page.ClickAsync("#create-submit");
        await Assertions.Expect(page.Locator("#apikey-panel")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#apikey-value")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^msk_[a-z0-9]+_"));

        var row = page.Locator("tr[data-instance-id]").Filter(new() { HasText = "Browser chat" });
        await Assertions.Expect(row.Locator("[data-testid=status]")).ToHaveAttributeAsync("data-status", "Ready", new() { Timeout = Timeout });
        var id = await row.GetAttributeAsync("data-instance-id");
        Assert.False(string.IsNullOrEmpty(id));
        await page.ClickAsync("#apikey-dismiss");
        var dashboardShot = Path.Combine(artifacts, "dashboard.png");
        await page.ScreenshotAsync(new() { Path = dashboardShot, FullPage = true });

        var chat = await context.RunAndWaitForPageAsync(() => row.Locator("[data-testid=open-chat]").ClickAsync());
        chat.PageError += (_, error) => pageErrors.Add(error);
        await chat.WaitForLoadStateAsync();
        Assert.EndsWith($"/webchat/{id}", new Uri(chat.Url).AbsolutePath, StringComparison.Ordinal);
        await Assertions.Expect(chat.Locator("#chat-status")).ToHaveAttributeAsync("data-state", "online", new() { Timeout = Timeout });
        await chat.FillAsync("#chat-input", "Hello from Chromium");
        await chat.ClickAsync("#chat-send");
        var reply = chat.Locator("#chat-log li[data-direction=out] [data-testid=text]");
        await Assertions.Expect(reply).ToHaveTextAsync("Echo: Hello from Chromium", new() { Timeout = Timeout });
        await Assertions.Expect(chat.Locator("#chat-log li[data-direction=in][data-message-id] [data-testid=text]")).ToHaveTextAsync("Hello from Chromium");
        // An image sent through the API shows in the visitor's page, loaded through the visitor media route.
        using (var owner = new HttpClient { BaseAddress = new Uri(address) })
        {
            owner.DefaultRequestHeaders.Authorization = new("Bearer", HostFixture.AdminKey);
            var chats = await (await owner.GetAsync($"{Instances}/{id}/chats", Ct)).ExpectAsync(HttpStatusCode.OK);
            var visitorChat = chats.Items().Single().GetProperty("chatId").GetString();
            // A 96x64 blue PNG.
            var png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAGAAAABACAIAAABqVuVZAAAAaUlEQVR42u3QMQ0AAAgDsClBHbIRgwNujiZV0FQPhygQJEiQIEGCBAlCkCBBggQJEiQIQYIECRIkSJAgBAkSJEiQIEGCBCFIkCBBggQJEoQgQYIECRIkSBCCBAkSJEiQIEGCECRIkKB/Fu+D0eGbTb7yAAAAAElFTkSuQmCC");
            using var form = new MultipartFormDataContent { { new StringContent(visitorChat!), "chatId" }, { new StringContent("a picture"), "caption" } };
            var file = new ByteArrayContent(png);
            file.Headers.ContentType = new("image/png");
            form.Add(file, "file", "dot.png");
            await (await owner.PostAsync($"{Instances}/{id}/messages", form, Ct)).ExpectAsync(HttpStatusCode.Created);
        }

        var image = chat.Locator("#chat-log li[data-direction=out] img[data-testid=media]");
        await Assertions.Expect(image).ToBeVisibleAsync(new() { Timeout = Timeout });
        await Eventually.UntilAsync(() => image.EvaluateAsync<int>("img => img.complete ? img.naturalWidth : 0"), width => width == 96, what: "the image to load");
        var chatShot = Path.Combine(artifacts, "webchat.png");
        await chat.ScreenshotAsync(new() { Path = chatShot, FullPage = true });

        // The dashboard's counters follow.
        using var admin = new HttpClient { BaseAddress = new Uri(address) };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", HostFixture.AdminKey);
        await Eventually.UntilAsync(() => admin.GetInstanceAsync(id!), i => i.Counters() == (1, 2), what: "counters 1 in, 2 out");

        await page.BringToFrontAsync();
        await Assertions.Expect(row.Locator("td").Filter(new() { HasText = "1 in" })).ToHaveCountAsync(1, new() { Timeout = Timeout });
        var afterShot = Path.Combine(artifacts, "dashboard-after-chat.png");
        await page.ScreenshotAsync(new() { Path = afterShot, FullPage = true });

        Assert.Empty(pageErrors);
        var message = $"Screenshots: {dashboardShot}, {chatShot}, {afterShot}";
        TestContext.Current.TestOutputHelper?.WriteLine(message);
        TestContext.Current.SendDiagnosticMessage(message);
    }
}
