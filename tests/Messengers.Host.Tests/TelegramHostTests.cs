using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.Telegram;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>A Telegram instance through the whole gateway: user → fake Bot API → gateway → echo agent → user.</summary>
public sealed class TelegramHostTests() : TelegramGatewayTests(Token, "host_test_bot", "HostTestBot")
{
    private const string Token = "123456789:AAHtelegramHostTestToken_abcdefghijk";
    private async Task<string> CreateTelegramInstanceAsync(HttpClient admin, string token = Token, string? publicUrl = null, bool agent = true, int debounceSeconds = 0)
    {
        var created = await (await admin.PostAsync(TestApi.Instances, TestApi.Json(new
        {
            name = "support bot",
            provider = "telegram",
            credentials = new { botToken = token },
            settings = publicUrl is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["publicUrl"] = publicUrl },
            agent = new { backend = "echo", enabled = agent, debounceSeconds },
        }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        return created.GetProperty("id").GetString()!;
    }

    /// <summary>The host on a real loopback port, so that the fake Bot API can deliver webhooks to it.</summary>
    private static string StartOnKestrel(MessengersFactory factory)
    {
        factory.UseKestrel(0);
        factory.StartServer();
        return factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal))
            .First(a => a.StartsWith("http://", StringComparison.Ordinal));
    }

    private static StringContent UpdateJson(long updateId, long chatId, long messageId, string text)
        => TestApi.Json($$$"""
            {"update_id":{{{updateId}}},"message":{"message_id":{{{messageId}}},"from":{"id":{{{chatId}}},"is_bot":false,"first_name":"Bob"},
             "chat":{"id":{{{chatId}}},"type":"private","first_name":"Bob"},"date":1730000000,"text":"{{{text}}}"}}
            """);

    private static HttpRequestMessage HookPost(string instanceId, StringContent body, string? secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/hooks/telegram/{instanceId}") { Content = body };
        if (secret is not null)
        {
            request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret);
        }

        return request;
    }

    [Fact]
    public async Task Webhook_FakeDeliversToHostOverHttp_StoredOnceAndEchoed()
    {
        var address = StartOnKestrel(Factory);
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, publicUrl: address);
        var ready = await admin.WaitForStatusAsync(id, "Ready");
        Assert.Equal($"{address}/hooks/telegram/{id}", Telegram.GetWebhookUrl(Token));

        Telegram.SendUserMessage(Token, 4242, "hi by webhook", new FakeUser(4242, "Ann", "ann"));

        var sent = await Telegram.WaitForSentMessagesAsync(Token, 4242, 1, TimeSpan.FromSeconds(20));
        Assert.Equal("Echo: hi by webhook", sent[0].Text);
        var history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4242/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() == 2,
            what: "both messages in the history");
        Assert.Equal(["Echo: hi by webhook", "hi by webhook"], history.Items().Select(m => m.GetProperty("body").GetString()));
        var attempt = Assert.Single(Telegram.GetWebhookAttempts(Token));
        Assert.Equal(200, attempt.StatusCode);
        Assert.Equal(0, Telegram.CallCount(Token, "getUpdates"));
        Assert.Equal(0, Telegram.PendingUpdateCount(Token));
        Assert.Equal("@host_test_bot", ready.GetProperty("account").GetProperty("name").GetString());
        var secret = Telegram.GetWebhookSecret(Token)!;
        var described = await (await admin.GetAsync($"{TestApi.Instances}/{id}", TestApi.Ct)).Content.ReadAsStringAsync(TestApi.Ct);
        Assert.DoesNotContain(secret, described, StringComparison.Ordinal);

        // Stopping the instance removes the webhook; updates then wait at Telegram.
        await (await admin.PostAsync($"{TestApi.Instances}/{id}/stop", null, TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("", Telegram.GetWebhookUrl(Token));
    }

    [Fact]
    public async Task Webhook_PhotoWhoseDownloadFailsOnce_AnsweredNon2xxThenRedeliveredAndStoredOnce()
    {
        var address = StartOnKestrel(Factory);
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, publicUrl: address, agent: false);
        await admin.WaitForStatusAsync(id, "Ready");
        Telegram.FailNextCalls(Token, 1, 500, "getfile");
        var bytes = Enumerable.Range(0, 4000).Select(i => (byte)(i % 251)).ToArray();

        Telegram.SendUserPhoto(Token, 4545, bytes, caption: "a photo", from: new FakeUser(4545, "Cy"));

        var history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4545/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Any(),
            TimeSpan.FromSeconds(60), // a failed download, a 503, a redelivery and a download: slow when the suite loads the machine
            "the photo in the history");
        var attempts = await Eventually.UntilAsync(() => Task.FromResult(Telegram.GetWebhookAttempts(Token)), a => a.Count >= 2, what: "the redelivery's answer");
        Assert.Equal([503, 200], attempts.Select(a => a.StatusCode));
        var message = Assert.Single(history.Items());
        Assert.Equal(("a photo", "image"), (message.GetProperty("body").GetString(), message.GetProperty("type").GetString()));
        Assert.Equal(0, Telegram.PendingUpdateCount(Token));
    }

    [Fact]
    public async Task Webhook_SameUpdateDeliveredTwice_StoredAndAnsweredOnce()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, publicUrl: "http://127.0.0.1:9");
        await admin.WaitForStatusAsync(id, "Ready");
        var secret = Telegram.GetWebhookSecret(Token);
        using var telegram = HostFixture.Client(Factory, null);
        Telegram.AddChat(Token, 4343);

        using (var first = HookPost(id, UpdateJson(900_000_001, 4343, 77, "only once"), secret))
        {
            await (await telegram.SendAsync(first, TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        }

        // Stored before the 200: the history has it at once. Telegram redelivers when it missed our answer.
        var history = await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4343/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(history.Items(), m => m.GetProperty("body").GetString() == "only once");
        using (var again = HookPost(id, UpdateJson(900_000_001, 4343, 77, "only once"), secret))
        {
            await (await telegram.SendAsync(again, TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        }

        await Telegram.WaitForSentMessagesAsync(Token, 4343, 1, TimeSpan.FromSeconds(20));
        history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4343/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() >= 2,
            what: "the echo in the history");
        Assert.Equal(["Echo: only once", "only once"], history.Items().Select(m => m.GetProperty("body").GetString()));
        var instance = await Eventually.UntilAsync(() => admin.GetInstanceAsync(id), i => i.Counters() == (1, 1), what: "one message in, one out");
        Assert.Equal((1, 1), instance.Counters());
    }

    [Fact]
    public async Task Webhook_MissingOrWrongSecretUnknownInstanceOrBadBody_RejectedWithProblem()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, publicUrl: "http://127.0.0.1:9");
        await admin.WaitForStatusAsync(id, "Ready");
        var secret = Telegram.GetWebhookSecret(Token)!;
        using var telegram = HostFixture.Client(Factory, null);

        using (var missing = HookPost(id, UpdateJson(1, 1, 1, "x"), null))
        {
            await (await telegram.SendAsync(missing, TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized, "X-Telegram-Bot-Api-Secret-Token", "missing");
        }

        using (var wrong = HookPost(id, UpdateJson(1, 1, 1, "x"), secret[..^1] + (secret[^1] == 'a' ? 'b' : 'a')))
        {
            await (await telegram.SendAsync(wrong, TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden, "does not match");
        }

        using (var unknown = HookPost("no-such-instance", UpdateJson(1, 1, 1, "x"), secret))
        {
            await (await telegram.SendAsync(unknown, TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no-such-instance");
        }

        using (var garbage = HookPost(id, TestApi.Json("{\"update_id\":\"nope\""), secret))
        {
            await (await telegram.SendAsync(garbage, TestApi.Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "Update");
        }

        var chats = await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(chats.Items());
    }

    [Fact]
    public async Task HostRestart_WhilePolling_EveryUpdateStoredOnceNoneSkipped()
    {
        const int Chats = 3, WhileRunning = 20, WhileDown = 10, PerChat = WhileRunning + WhileDown;
        var settings = Factory.Settings;
        string id;
        Task sending;
        await using (var first = new MessengersFactory(settings))
        {
            using var admin = HostFixture.Client(first, HostFixture.AdminKey);
            id = await CreateTelegramInstanceAsync(admin, agent: false);
            await admin.WaitForStatusAsync(id, "Ready");

            // Users keep writing while the host polls and while it shuts down.
            sending = Task.Run(() => SendRoundsAsync(0, WhileRunning, TimeSpan.FromMilliseconds(25)), TestApi.Ct);
            await Eventually.UntilAsync(
                async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/7000/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
                page => page.Items().Count() >= 5,
                what: "the first messages to be stored before the restart");
        }

        await sending;
        await SendRoundsAsync(WhileRunning, PerChat, TimeSpan.Zero); // and while no host runs
        Assert.True(Telegram.PendingUpdateCount(Token) >= Chats * WhileDown, "updates sent while the host was down wait at the fake");

        await using var second = new MessengersFactory(settings);
        using var admin2 = HostFixture.Client(second, HostFixture.AdminKey);
        for (var chat = 0; chat < Chats; chat++)
        {
            var chatId = 7000 + chat;
            var page = await Eventually.UntilAsync(
                async () => await (await admin2.GetAsync($"{TestApi.Instances}/{id}/chats/{chatId}/messages?limit=500", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
                p => p.Items().Count() >= PerChat,
                timeout: TimeSpan.FromSeconds(30),
                what: $"all messages of chat {chatId}");
            var bodies = page.Items().Select(m => m.GetProperty("body").GetString()).Order(StringComparer.Ordinal);
            Assert.Equal(Enumerable.Range(0, PerChat).Select(i => $"c{chat}-m{i}").Order(StringComparer.Ordinal), bodies);
        }

        // (The messagesIn counter is not checked: an increment racing the shutdown may be lost; the store is the truth.)
        await Eventually.UntilAsync(() => Task.FromResult(Telegram.PendingUpdateCount(Token)), n => n == 0, what: "every update confirmed at the fake");

        async Task SendRoundsAsync(int from, int to, TimeSpan pause)
        {
            for (var i = from; i < to; i++)
            {
                for (var chat = 0; chat < Chats; chat++)
                {
                    Telegram.SendUserMessage(Token, 7000 + chat, $"c{chat}-m{i}", new FakeUser(7000 + chat, $"User {chat}"));
                }

                await Task.Delay(pause, TestApi.Ct);
            }
        }
    }

    [Fact]
    public async Task UserMessage_ThroughBotAndEchoAgent_ReplyReachesTheUserAndHistory()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin);
        var ready = await admin.WaitForStatusAsync(id, "Ready");
        Assert.Equal("@host_test_bot", ready.GetProperty("account").GetProperty("name").GetString());

        Telegram.SendUserMessage(Token, 4242, "hi bot", new FakeUser(4242, "Ann", "ann"));

        var sent = await Telegram.WaitForSentMessagesAsync(Token, 4242, 1, TimeSpan.FromSeconds(20));
        Assert.Equal("Echo: hi bot", sent[0].Text);
        var history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4242/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() == 2,
            what: "both messages in the history");
        Assert.Equal(["Echo: hi bot", "hi bot"], history.Items().Select(m => m.GetProperty("body").GetString()));
    }

    [Fact]
    public async Task Reaction_BetweenDebouncedMessages_StoredButLeftOutOfTheAgentTurn()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, debounceSeconds: 2);
        await admin.WaitForStatusAsync(id, "Ready");
        var ann = new FakeUser(4343, "Ann", "ann");

        await Eventually.UntilAsync(() => Task.FromResult(Telegram.AcceptsUpdates(Token, "message_reaction")), accepts => accepts, what: "the first poll asking for reactions");
        var first = Telegram.SendUserMessage(Token, 4343, "first", ann);
        Telegram.SendUserReaction(Token, 4343, first.MessageId, ann, "👍");
        Telegram.SendUserMessage(Token, 4343, "second", ann);

        var sent = await Telegram.WaitForSentMessagesAsync(Token, 4343, 1, TimeSpan.FromSeconds(20));
        Assert.Equal("Echo: first\nsecond", sent[0].Text);
        var history = await Eventually.UntilAsync(
            async () => await (await admin.GetAsync($"{TestApi.Instances}/{id}/chats/4343/messages", TestApi.Ct)).ExpectAsync(HttpStatusCode.OK),
            page => page.Items().Count() == 4,
            what: "two messages, the reaction and the reply in the history");
        var reaction = Assert.Single(history.Items(), m => m.GetProperty("type").GetString() == "reaction");
        Assert.Equal(("👍", $"4343_{first.MessageId}"), (reaction.GetProperty("body").GetString(), reaction.GetProperty("replyTo").GetString()));
        await AgentTurnsProbe.IdleAsync(Factory, id, "4343");
        Assert.Single(Telegram.GetSentMessages(Token, 4343));
    }

    [Fact]
    public async Task SendThroughApi_TextToChat_ArrivesAtTheFakeAndIsStored()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin);
        await admin.WaitForStatusAsync(id, "Ready");
        Telegram.AddChat(Token, 5151);

        var message = await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages", TestApi.Json(new { chatId = "5151", text = "hello from the API" }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);

        var sent = Assert.Single(Telegram.GetSentMessages(Token, 5151));
        Assert.Equal("hello from the API", sent.Text);
        Assert.Equal($"5151_{sent.MessageId}", message.GetProperty("id").GetString());
        Assert.True(message.GetProperty("fromMe").GetBoolean());
    }

    [Fact]
    public async Task Start_RevokedToken_InstanceFailsWithInvalidBotToken()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, "987654321:AAHrevokedTokenForTheHostTest_abcdef");

        var failed = await admin.WaitForStatusAsync(id, "Failed");

        Assert.Equal("invalid bot token", failed.GetProperty("statusReason").GetString());
    }

    [Fact]
    public async Task Create_MalformedToken_IsRejectedNamingTheField()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var response = await admin.PostAsync(TestApi.Instances, TestApi.Json(new { name = "bad", provider = "telegram", credentials = new { botToken = "nope" } }), TestApi.Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "credentials.botToken");
    }

    [Fact]
    public async Task Create_TokenTelegramBotRefuses_IsRejectedNamingTheField()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        // Well-formed for the old pattern, but Telegram.Bot takes at most 16 digits of bot id before the colon.
        const string tooLongBotId = "12345678901234567:AAHtokenWithABotIdTooLong_abcdefghij";

        var response = await admin.PostAsync(TestApi.Instances, TestApi.Json(new { name = "bad", provider = "telegram", credentials = new { botToken = tooLongBotId } }), TestApi.Ct);

        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, "credentials.botToken");
    }

    [Fact]
    public async Task SendThroughApi_TelegramOptions_ReachTheFakeAsBotApiParameters()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, agent: false);
        await admin.WaitForStatusAsync(id, "Ready");
        Telegram.AddChat(Token, 5252);

        await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages", TestApi.Json(new
        {
            chatId = "5252",
            text = "<b>bold</b> https://example.org",
            parseMode = "html",
            silent = true,
            disableLinkPreview = true,
        }), TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);
        using var form = new MultipartFormDataContent
        {
            { new StringContent("5252"), "chatId" },
            { new StringContent("*plain*"), "text" },
            { new StringContent("MarkdownV2"), "parseMode" },
            { new StringContent("false"), "silent" },
        };
        await (await admin.PostAsync($"{TestApi.Instances}/{id}/messages", form, TestApi.Ct)).ExpectAsync(HttpStatusCode.Created);

        var sent = Telegram.GetSentMessages(Token, 5252);
        Assert.Equal(2, sent.Count);
        Assert.Equal("HTML", sent[0].ParseMode);
        Assert.True(sent[0].DisableNotification);
        Assert.True(sent[0].LinkPreviewDisabled);
        Assert.Equal("MarkdownV2", sent[1].ParseMode);
        Assert.False(sent[1].DisableNotification);
        Assert.NotEqual(true, sent[1].LinkPreviewDisabled);
    }

    [Fact]
    public async Task SendThroughApi_BadTelegramOptions_RejectedNamingTheField()
    {
        using var admin = HostFixture.Client(Factory, HostFixture.AdminKey);
        var id = await CreateTelegramInstanceAsync(admin, agent: false);
        Telegram.AddChat(Token, 5353);
        var messages = $"{TestApi.Instances}/{id}/messages";

        var badMode = await admin.PostAsync(messages, TestApi.Json(new { chatId = "5353", text = "x", parseMode = "bbcode" }), TestApi.Ct);
        var badJsonFlag = await admin.PostAsync(messages, TestApi.Json(new { chatId = "5353", text = "x", silent = "loud" }), TestApi.Ct);
        using var form = new MultipartFormDataContent { { new StringContent("5353"), "chatId" }, { new StringContent("x"), "text" }, { new StringContent("maybe"), "disableLinkPreview" } };
        var badFormFlag = await admin.PostAsync(messages, form, TestApi.Ct);

        await badMode.ExpectProblemAsync(HttpStatusCode.BadRequest, "parseMode", "bbcode");
        await badJsonFlag.ExpectProblemAsync(HttpStatusCode.BadRequest, "silent");
        await badFormFlag.ExpectProblemAsync(HttpStatusCode.BadRequest, "disableLinkPreview", "maybe");
        Assert.Empty(Telegram.GetSentMessages(Token, 5353));
    }
}
