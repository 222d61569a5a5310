using System.Net;
using Messengers.Host.Tests.Infrastructure;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;
using Messengers.Testing.Fakes.Telegram;

namespace Messengers.Host.Tests;

/// <summary>A Telegram instance through the whole gateway: user → fake Bot API → gateway → echo agent → user.</summary>
public sealed class TelegramHostTests : IAsyncLifetime
{
    private const string Token = "123456789:AAHtelegramHostTestToken_abcdefghijk";
    private readonly EmbeddedHostFixture _backend = new();
    private FakeTelegramServer _telegram = null!;
    private MessengersFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _telegram = await FakeTelegramServer.StartAsync(cancellationToken: TestApi.Ct);
        _telegram.AddBot(Token, "host_test_bot", "HostTestBot");
        var settings = await _backend.NewBackendAsync();
        settings["Messengers:Telegram:ApiBaseUrl"] = _telegram.BaseUrl.ToString();
        settings["Messengers:Telegram:PollTimeoutSeconds"] = "1";
        _factory = new MessengersFactory(settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _telegram.DisposeAsync();
        await _backend.DisposeAsync();
    }

    private async Task<string> CreateTelegramInstanceAsync(HttpClient admin, string token = Token)
    {
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new
        {
            name = "support bot",
            provider = "telegram",
            credentials = new { botToken = token },
            agent = new { backend = "echo" },
        }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        return created.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task UserMessage_ThroughBotAndEchoAgent_ReplyReachesTheUserAndHistory()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin);
        var ready = await admin.WaitForStatusAsync(id, "Ready");
        Assert.Equal("@host_test_bot", ready.GetProperty("account").GetProperty("name").GetString());

        _telegram.SendUserMessage(Token, 4242, "hi bot", new FakeUser(4242, "Ann", "ann"));

        var sent = await _telegram.WaitForSentMessagesAsync(Token, 4242, 1, TimeSpan.FromSeconds(20));
        Assert.Equal("Echo: hi bot", sent[0].Text);
        var history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4242/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() == 2,
            what: "both messages in the history");
        Assert.Equal(["Echo: hi bot", "hi bot"], history.Items().Select(m => m.GetProperty("body").GetString()));
    }

    [Fact]
    public async Task SendThroughApi_TextToChat_ArrivesAtTheFakeAndIsStored()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin);
        await admin.WaitForStatusAsync(id, "Ready");
        _telegram.AddChat(Token, 5151);

        var message = await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages", TestApi.Json(new { chatId = "5151", text = "hello from the API" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);

        var sent = Assert.Single(_telegram.GetSentMessages(Token, 5151));
        Assert.Equal("hello from the API", sent.Text);
        Assert.Equal($"5151_{sent.MessageId}", message.GetProperty("id").GetString());
        Assert.True(message.GetProperty("fromMe").GetBoolean());
    }

    [Fact]
    public async Task Start_RevokedToken_InstanceFailsWithInvalidBotToken()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, "987654321:AAHrevokedTokenForTheHostTest_abcdef");

        var failed = await admin.WaitForStatusAsync(id, "Failed");

        Assert.Equal("invalid bot token", failed.GetProperty("statusReason").GetString());
    }

    [Fact]
    public async Task Create_MalformedToken_IsRejectedNamingTheField()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var response = await admin.PostAsync(TestApi.Instances, TestApi.Json(new { name = "bad", provider = "telegram", credentials = new { botToken = "nope" } }), TestApi.Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "credentials.botToken");
    }
}
