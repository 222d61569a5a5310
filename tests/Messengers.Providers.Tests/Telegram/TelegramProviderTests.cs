using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Data.Messages;
using Messengers.Providers.Telegram;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>The provider's connection against the fake Bot API, reporting to a recording set of callbacks.</summary>
public sealed class TelegramProviderTests : TelegramFakeTestBase
{
    private readonly string _mediaPath = Path.Combine(Path.GetTempPath(), "tgmedia-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingCallbacks _callbacks = new();
    private TelegramProvider _provider = null!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _provider = new TelegramProvider(
            Options.Create(new TelegramOptions { ApiBaseUrl = Fake.BaseUrl.ToString(), PollTimeoutSeconds = 1, MaxRetryDelay = TimeSpan.FromMilliseconds(200) }),
            new FileMediaStore(_mediaPath),
            TimeProvider.System,
            NullLoggerFactory.Instance);
    }

    public override async ValueTask DisposeAsync()
    {
        _provider.Dispose();
        await base.DisposeAsync();
        if (Directory.Exists(_mediaPath))
        {
            Directory.Delete(_mediaPath, recursive: true);
        }
    }

    private IMessengerConnection Connect(string token = Token)
        => _provider.Connect(new ConnectionConfig("tg1", "telegram", new Dictionary<string, string> { ["botToken"] = token }, new Dictionary<string, string>(), new AgentSettings()), _callbacks);

    [Fact]
    public async Task Start_ValidToken_ReportsReadyWithBotAccount()
    {
        await using var connection = Connect();
        await connection.StartAsync(Ct);

        var (status, _, account) = Assert.Single(_callbacks.Statuses);
        Assert.Equal(InstanceStatus.Ready, status);
        Assert.Equal("@gateway_bot", account?.Name);
    }

    [Fact]
    public async Task Poll_ReactionAddedThenRemovedAndGroupReaction_ReachCallbacksAsReactionMessages()
    {
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        var ann = new Messengers.Testing.Fakes.Telegram.FakeUser(501, "Ann", "ann");
        var text = Fake.SendUserMessage(Token, 501, "order #12", ann);
        var groupText = Fake.SendUserMessage(Token, -100600, "team question", ann, chatType: "supergroup", chatTitle: "Team");
        await WaitUntilAsync(() => Fake.AcceptsUpdates(Token, "message_reaction")); // the first poll asks for them

        var added = Fake.SendUserReaction(Token, 501, text.MessageId, ann, "👍");
        var removed = Fake.SendUserReaction(Token, 501, text.MessageId, ann);
        var inGroup = Fake.SendUserReaction(Token, -100600, groupText.MessageId, ann, "🔥");

        await WaitUntilAsync(() => _callbacks.Messages.Count >= 5);
        var reactions = _callbacks.Messages.Where(m => m.Type == MessageTypes.Reaction).ToArray();
        Assert.Equal(3, reactions.Length);
        Assert.Equal(($"501_reaction{added.UpdateId}", "501", "501", "👍", $"501_{text.MessageId}", "Ann", false), (reactions[0].MessageId, reactions[0].ChatId, reactions[0].From, reactions[0].Body, reactions[0].ReplyToMessageId, reactions[0].ContactName, reactions[0].IsGroup));
        Assert.Equal(($"501_reaction{removed.UpdateId}", "", $"501_{text.MessageId}"), (reactions[1].MessageId, reactions[1].Body, reactions[1].ReplyToMessageId));
        Assert.Equal(($"-100600_reaction{inGroup.UpdateId}", "-100600", "501", "🔥", $"-100600_{groupText.MessageId}", true, "-100600"), (reactions[2].MessageId, reactions[2].ChatId, reactions[2].From, reactions[2].Body, reactions[2].ReplyToMessageId, reactions[2].IsGroup, reactions[2].GroupId));
    }

    [Fact]
    public async Task Start_UnknownToken_ReportsFailedInvalidBotToken()
    {
        await using var connection = Connect("999999999:AAHunknownTokenxxxxxxxxxxxxxxxxxxxxx");
        await connection.StartAsync(Ct);

        Assert.Equal((InstanceStatus.Failed, "invalid bot token"), (_callbacks.Statuses.Single().Status, _callbacks.Statuses.Single().Reason));
    }

    [Fact]
    public async Task Poll_UserMessages_ReachCallbacksInOrderWithStableIds()
    {
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        var first = Fake.SendUserMessage(Token, 501, "hello", new Messengers.Testing.Fakes.Telegram.FakeUser(501, "Ann", "ann"));
        var second = Fake.SendUserMessage(Token, 501, "again", new Messengers.Testing.Fakes.Telegram.FakeUser(501, "Ann", "ann"));

        await WaitUntilAsync(() => _callbacks.Messages.Count >= 2);
        var messages = _callbacks.Messages.ToArray();
        Assert.Equal(["hello", "again"], messages.Select(m => m.Body));
        Assert.Equal($"501_{first.MessageId}", messages[0].MessageId);
        Assert.Equal($"501_{second.MessageId}", messages[1].MessageId);
        Assert.All(messages, m => Assert.Equal("501", m.ChatId));
        Assert.Equal("Ann", messages[0].ContactName);
        Assert.False(messages[0].IsGroup);
    }

    [Fact]
    public async Task Poll_CallbackFails_UpdateIsNotConfirmedAndArrivesAgain()
    {
        _callbacks.FailNextMessages = 1;
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.SendUserMessage(Token, 501, "stored later");

        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty, 30_000);
        Assert.Equal(2, _callbacks.Attempts);
        Assert.Equal("stored later", Assert.Single(_callbacks.Messages).Body);
    }

    [Fact]
    public async Task Poll_CallbackAndStatusReportFail_KeepsPollingAndStoresEveryMessage()
    {
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        _callbacks.FailNextMessages = 1;
        _callbacks.FailNextStatuses = 1; // the Disconnected report of the failed store
        Fake.SendUserMessage(Token, 502, "first");

        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty, 30_000);
        Fake.SendUserMessage(Token, 502, "second");
        await WaitUntilAsync(() => _callbacks.Messages.Count == 2, 30_000);
        Assert.Equal(["first", "second"], _callbacks.Messages.Select(m => m.Body));
        Assert.Equal(0, _callbacks.FailNextStatuses);
    }

    [Fact]
    public async Task Poll_UserPhoto_IsDownloadedIntoTheMediaStore()
    {
        var bytes = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.SendUserPhoto(Token, 501, bytes, caption: "look");

        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty);
        var message = Assert.Single(_callbacks.Messages);
        Assert.Equal(MessageTypes.Image, message.Type);
        Assert.Equal("look", message.Body);
        var opened = await new FileMediaStore(_mediaPath).OpenAsync("tg1", message.Media!.MediaId, Ct);
        await using var content = opened!.Value.Content;
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, Ct);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task Send_Text_ReachesTheChatAndReturnsItsId()
    {
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.AddChat(Token, 777);

        var result = await connection.SendAsync(new OutgoingMessage { ChatId = "777", Text = "<b>hi</b>", Options = new Dictionary<string, string> { ["parseMode"] = "Html" } }, Ct);

        var sent = Assert.Single(Fake.GetSentMessages(Token, 777));
        Assert.Equal($"777_{sent.MessageId}", result.MessageId);
    }

    [Fact]
    public async Task Poll_TokenRevokedWhileRunning_ReportsFailedInvalidBotToken()
    {
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.RevokeBot(Token);

        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Failed), 30_000);
        Assert.Equal("invalid bot token", _callbacks.Statuses.Last().Reason);
    }

    [Fact]
    public void Validate_MalformedToken_NamesTheField()
    {
        var errors = _provider.Validate(new Dictionary<string, string> { ["botToken"] = "nope" }, new Dictionary<string, string>());
        Assert.Contains("credentials.botToken", errors.Keys);
        Assert.Empty(_provider.Validate(new Dictionary<string, string> { ["botToken"] = Token }, new Dictionary<string, string>()));
        Assert.True(_provider.IsValidChatId("-100123"));
        Assert.False(_provider.IsValidChatId("12ab"));
    }

    [Fact]
    public void Validate_TokenTelegramBotRefuses_NamesTheField()
    {
        // Matches the token pattern, but Telegram.Bot takes at most 16 digits of bot id and would throw at connect.
        var errors = _provider.Validate(new Dictionary<string, string> { ["botToken"] = "12345678901234567:AAHfakeTokenForTests_abcdefghijklmn" }, new Dictionary<string, string>());

        Assert.Contains("credentials.botToken", errors.Keys);
    }

    [Theory]
    [InlineData("http://localhost:8081", true)]
    [InlineData("https://bot-api.example/", true)]
    [InlineData("http://localhost:8081/custom/path", false)]
    [InlineData("ftp://bot-api.example", false)]
    [InlineData("localhost:8081", false)]
    public void Validate_ApiBaseUrlSetting_AcceptsOnlyHttpUrlsWithoutPath(string apiBaseUrl, bool valid)
    {
        var errors = _provider.Validate(new Dictionary<string, string> { ["botToken"] = Token }, new Dictionary<string, string> { ["apiBaseUrl"] = apiBaseUrl });

        Assert.Equal(valid, !errors.ContainsKey("settings.apiBaseUrl"));
    }

    [Theory]
    [InlineData("https://gw.example", true)]
    [InlineData("http://127.0.0.1:8080/base/", true)]
    [InlineData("", true)]
    [InlineData("ftp://gw.example", false)]
    [InlineData("gw.example", false)]
    [InlineData("https://gw.example/?x=1", false)]
    public void Validate_PublicUrlSetting_AcceptsOnlyHttpUrlsOrEmpty(string publicUrl, bool valid)
    {
        var errors = _provider.Validate(new Dictionary<string, string> { ["botToken"] = Token }, new Dictionary<string, string> { ["publicUrl"] = publicUrl });

        Assert.Equal(valid, !errors.ContainsKey("settings.publicUrl"));
        var config = new ConnectionConfig("tg-1", "telegram", new Dictionary<string, string>(), new Dictionary<string, string> { ["publicUrl"] = publicUrl }, new AgentSettings());
        Assert.Equal(valid && publicUrl.Length > 0 ? publicUrl.TrimEnd('/') + "/hooks/telegram/tg-1" : null, _provider.WebhookUrl(config)?.ToString());
    }

    [Theory]
    [InlineData("image/png", "photo.png", "sendPhoto", "photo")]
    [InlineData("application/pdf", "report.pdf", "sendDocument", "document")]
    [InlineData("audio/mpeg", "song.mp3", "sendAudio", "audio")]
    [InlineData("video/mp4", "clip.mp4", "sendVideo", "video")]
    [InlineData("audio/ogg", "note.ogg", "sendVoice", "voice")]
    public async Task Send_StoredMedia_UploadedWithTheMethodOfItsType(string contentType, string fileName, string method, string kind)
    {
        var bytes = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray();
        var stored = await SaveMediaAsync(bytes, contentType, fileName);
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.AddChat(Token, 777);

        var result = await connection.SendAsync(new OutgoingMessage { ChatId = "777", Text = "see attached", Media = stored }, Ct);

        var sent = Assert.Single(Fake.GetSentMessages(Token, 777));
        Assert.Equal(method, sent.Method);
        Assert.Equal(kind, sent.MediaKind);
        Assert.Equal(bytes, sent.Content);
        Assert.Equal(kind == "photo" ? null : fileName, sent.FileName); // Telegram keeps no file name for photos
        Assert.Equal("see attached", sent.Caption);
        Assert.Equal($"777_{sent.MessageId}", result.MessageId);
    }

    [Fact]
    public async Task Send_SameMediaTwice_SecondGoesByFileIdWithoutUpload()
    {
        var stored = await SaveMediaAsync([1, 2, 3, 4, 5], "image/jpeg", "cat.jpg");
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.AddChat(Token, 777);
        Fake.AddChat(Token, 778);

        await connection.SendAsync(new OutgoingMessage { ChatId = "777", Media = stored }, Ct);
        await connection.SendAsync(new OutgoingMessage { ChatId = "778", Media = stored }, Ct);

        var first = Assert.Single(Fake.GetSentMessages(Token, 777));
        var second = Assert.Single(Fake.GetSentMessages(Token, 778));
        Assert.StartsWith("attach://", first.Parameters["photo"], StringComparison.Ordinal); // the bytes came as a multipart part
        Assert.Equal(first.FileId, second.Parameters["photo"]); // the second send named Telegram's file_id instead
        Assert.Equal(first.Content, second.Content);
    }

    [Fact]
    public async Task Send_ReceivedPhotoForwarded_GoesByTheFileIdTelegramGaveIt()
    {
        var bytes = Enumerable.Range(0, 2000).Select(i => (byte)i).ToArray();
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        var update = Fake.SendUserPhoto(Token, 501, bytes);
        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty);
        var received = Assert.Single(_callbacks.Messages).Media!;

        await connection.SendAsync(new OutgoingMessage { ChatId = "501", Media = received }, Ct);

        var sent = Assert.Single(Fake.GetSentMessages(Token, 501));
        Assert.Equal("sendPhoto", sent.Method);
        Assert.True(sent.Parameters.ContainsKey("photo"), "the photo should be sent by file_id, not uploaded again");
        Assert.Equal(bytes, sent.Content);
        Assert.True(update.MessageId > 0);
    }

    [Fact]
    public async Task Send_MediaDuringFloodWaits_EachFileArrivesOnce()
    {
        var files = new List<MediaRef>();
        for (var i = 0; i < 4; i++)
        {
            files.Add(await SaveMediaAsync([(byte)i, 10, 20, 30], "application/pdf", $"doc{i}.pdf"));
        }

        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.AddChat(Token, 777);
        Fake.FloodEveryNthCall(Token, 2, retryAfterSeconds: 1, "senddocument");

        foreach (var file in files)
        {
            await connection.SendAsync(new OutgoingMessage { ChatId = "777", Media = file }, Ct);
        }

        var sent = Fake.GetSentMessages(Token, 777);
        Assert.Equal(["doc0.pdf", "doc1.pdf", "doc2.pdf", "doc3.pdf"], sent.Select(m => m.FileName));
        Assert.Equal([0, 1, 2, 3], sent.Select(m => (int)m.Content![0]));
        Assert.True(Fake.CallCount(Token, "sendDocument") > 4, "the fake should have answered some sends with 429");
    }

    [Fact]
    public async Task Send_CaptionTooLong_FileThenTextAsItsOwnMessage()
    {
        var stored = await SaveMediaAsync([9, 9, 9], "application/pdf", "long.pdf");
        await using var connection = Connect();
        await connection.StartAsync(Ct);
        Fake.AddChat(Token, 777);
        var text = new string('x', 1500);

        await connection.SendAsync(new OutgoingMessage { ChatId = "777", Text = text, Media = stored }, Ct);

        var sent = Fake.GetSentMessages(Token, 777);
        Assert.Equal(["sendDocument", "sendMessage"], sent.Select(m => m.Method));
        Assert.Null(sent[0].Caption);
        Assert.Equal(text, sent[1].Text);
    }

    [Fact]
    public async Task Poll_StopMidStreamThenNewConnection_EveryUpdateFetchedAndStoredOnce()
    {
        var first = Connect();
        await first.StartAsync(Ct);
        var sender = new Messengers.Testing.Fakes.Telegram.FakeUser(501, "Ann", "ann");
        for (var i = 0; i < 30; i++)
        {
            Fake.SendUserMessage(Token, 501, $"m{i}", sender);
        }

        await WaitUntilAsync(() => _callbacks.Messages.Count >= 10);
        await first.DisposeAsync(); // mid-stream: some updates stored, the rest not fetched yet
        var storedByFirst = _callbacks.Messages.Count;
        for (var i = 30; i < 40; i++)
        {
            Fake.SendUserMessage(Token, 501, $"m{i}", sender);
        }

        await using var second = Connect();
        await second.StartAsync(Ct);
        await WaitUntilAsync(() => _callbacks.Messages.Count >= 40, 30_000);

        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"m{i}"), _callbacks.Messages.Select(m => m.Body));
        Assert.All(Fake.GetUpdateDeliveries(Token).Values, count => Assert.Equal(1, count));
        await WaitUntilAsync(() => Fake.PendingUpdateCount(Token) == 0);
        Assert.InRange(storedByFirst, 10, 40);
    }

    [Fact]
    public async Task Poll_Http2Configured_PollsAndSendsOverHttp2()
    {
        await using var h2Fake = await Messengers.Testing.Fakes.Telegram.FakeTelegramServer.StartAsync(cancellationToken: Ct, http2: true);
        h2Fake.AddBot(Token, "gateway_bot", "GatewayBot");
        using var provider = new TelegramProvider(
            Options.Create(new TelegramOptions { ApiBaseUrl = h2Fake.BaseUrl.ToString(), PollTimeoutSeconds = 1, HttpVersion = "2" }),
            new FileMediaStore(_mediaPath),
            TimeProvider.System,
            NullLoggerFactory.Instance);
        await using var connection = provider.Connect(new ConnectionConfig("tg1", "telegram", new Dictionary<string, string> { ["botToken"] = Token }, new Dictionary<string, string>(), new AgentSettings()), _callbacks);
        await connection.StartAsync(Ct);

        h2Fake.SendUserMessage(Token, 501, "over h2");
        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty);
        await connection.SendAsync(new OutgoingMessage { ChatId = "501", Text = "back over h2" }, Ct);

        Assert.Equal("over h2", Assert.Single(_callbacks.Messages).Body);
        Assert.Equal("back over h2", Assert.Single(h2Fake.GetSentMessages(Token, 501)).Text);
        Assert.Equal(["HTTP/2"], h2Fake.RequestProtocols);
    }

    private Task<MediaRef> SaveMediaAsync(byte[] bytes, string contentType, string fileName)
        => new FileMediaStore(_mediaPath).SaveAsync("tg1", new MemoryStream(bytes), contentType, fileName, Ct);
}
