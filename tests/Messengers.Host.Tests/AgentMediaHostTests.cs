using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.Agno;
using Messengers.Testing.Fakes.Telegram;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// User media end to end: a Telegram photo (fake Bot API, long polling) reaches an Agno agent as a file part, also when
/// a dead-lettered turn is retried. One HTTP call per agent call and one call before the dead letter, so a failure is
/// recorded at once.
/// </summary>
public sealed class AgentMediaHostTests() : TelegramGatewayTests(Token, "media_test_bot", "MediaTestBot", new Dictionary<string, string?>
{
    ["Messengers:Agents:MaxAttempts"] = "1",
    ["Messengers:Agents:CircuitFailureThreshold"] = "1000",
    ["Messengers:Agents:Bridge:MaxAttempts"] = "1",
})
{
    private const string Token = "987654321:AAHagentMediaHostTestToken_abcdefgh";
    private FakeAgnoServer _agno = null!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _agno = await FakeAgnoServer.StartAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _agno.DisposeAsync();
    }

    [Fact]
    public async Task TelegramPhoto_AgnoAgentOs_PhotoBytesArriveAsFilesPartAndReplyIsSent()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        await CreateMediaBotAsync(admin, stream: true);
        var photo = Enumerable.Range(0, 3000).Select(i => (byte)(i % 253)).ToArray();

        Telegram.SendUserPhoto(Token, 5151, photo, caption: "what is this?", from: new FakeUser(5151, "Dee"));

        var sent = await Telegram.WaitForSentMessagesAsync(Token, 5151, 1, TimeSpan.FromSeconds(30));
        Assert.Equal("agno:what is this?", sent[0].Text);
        AssertPhotoSent(Assert.Single(_agno.Requests), photo);
    }

    [Fact]
    public async Task DeadLetterWithPhoto_RetriedWhenAgentIsBack_AgentGetsThePhotoAgain()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateMediaBotAsync(admin, stream: false);
        var photo = Enumerable.Range(0, 2500).Select(i => (byte)(i % 241)).ToArray();
        _agno.Faults.FailAlways(503);

        Telegram.SendUserPhoto(Token, 6161, photo, caption: "is this broken?", from: new FakeUser(6161, "Eve"));

        var page = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/agent/dead-letters", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            p => p.Items().Any(),
            TimeSpan.FromSeconds(30),
            "the dead letter");
        var deadLetter = Assert.Single(page.Items());
        var deadLetterId = deadLetter.GetProperty("id").GetInt64();
        var media = Assert.Single(deadLetter.GetProperty("media").EnumerateArray());
        Assert.StartsWith("image/", media.GetProperty("contentType").GetString(), StringComparison.Ordinal);
        Assert.Equal(photo.Length, media.GetProperty("size").GetInt64());
        Assert.Empty(_agno.Requests);

        _agno.Faults.Clear();
        var retried = await (await admin.PostAsync($"{TestApi.Instances}/{id}/agent/dead-letters/{deadLetterId}/retry", null, TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);

        Assert.True(retried.GetProperty("answered").GetBoolean());
        var request = Assert.Single(_agno.Requests);
        Assert.Equal("is this broken?", request.Message);
        AssertPhotoSent(request, photo);
        var sent = await Telegram.WaitForSentMessagesAsync(Token, 6161, 1, TimeSpan.FromSeconds(30));
        Assert.Equal("agno:is this broken?", sent[0].Text);
    }

    private async Task<string> CreateMediaBotAsync(HttpClient admin, bool stream)
    {
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new
        {
            name = "media bot",
            provider = "telegram",
            credentials = new { botToken = Token },
            agent = new { backend = "agno", agentId = "support", baseUrl = _agno.BaseUrl, shape = "AgentOs", stream },
        }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        await admin.WaitForStatusAsync(id, "Ready");
        return id;
    }

    private static void AssertPhotoSent(FakeAgnoRequest request, byte[] photo)
    {
        var file = Assert.Single(request.Files);
        Assert.Equal(("files", "image/jpeg"), (file.FieldName, file.ContentType));
        Assert.Equal(photo, file.Content);
    }
}
