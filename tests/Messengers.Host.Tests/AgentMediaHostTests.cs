using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing.Fakes.Agno;
using Messengers.Testing.Fakes.Telegram;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>User media end to end: a Telegram photo (fake Bot API, long polling) reaches an Agno agent as a file part.</summary>
public sealed class AgentMediaHostTests : IAsyncLifetime
{
    private const string Token = "987654321:AAHagentMediaHostTestToken_abcdefgh";
    private TelegramGateway _gateway = null!;
    private FakeTelegramServer _telegram = null!;
    private FakeAgnoServer _agno = null!;
    private MessengersFactory _factory = null!;

    public async ValueTask InitializeAsync()
    {
        _gateway = await TelegramGateway.StartAsync(Token, "media_test_bot", "MediaTestBot");
        (_telegram, _factory) = (_gateway.Telegram, _gateway.Factory);
        _agno = await FakeAgnoServer.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _agno.DisposeAsync();
    }

    [Fact]
    public async Task TelegramPhoto_AgnoAgentOs_PhotoBytesArriveAsFilesPartAndReplyIsSent()
    {
        using var admin = HostFixture.Client(_factory, HostFixture.AdminKey);
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new
        {
            name = "media bot",
            provider = "telegram",
            credentials = new { botToken = Token },
            agent = new { backend = "agno", agentId = "support", baseUrl = _agno.BaseUrl, shape = "AgentOs", stream = true },
        }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        await admin.WaitForStatusAsync(created.GetProperty("id").GetString()!, "Ready");
        var photo = Enumerable.Range(0, 3000).Select(i => (byte)(i % 253)).ToArray();

        _telegram.SendUserPhoto(Token, 5151, photo, caption: "what is this?", from: new FakeUser(5151, "Dee"));

        var sent = await _telegram.WaitForSentMessagesAsync(Token, 5151, 1, TimeSpan.FromSeconds(30));
        Assert.Equal("agno:what is this?", sent[0].Text);
        var request = Assert.Single(_agno.Requests);
        var file = Assert.Single(request.Files);
        Assert.Equal(("files", "image/jpeg"), (file.FieldName, file.ContentType));
        Assert.Equal(photo, file.Content);
    }
}
