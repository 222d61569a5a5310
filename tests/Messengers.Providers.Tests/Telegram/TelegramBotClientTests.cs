using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Messengers.Providers.Telegram;
using Messengers.Providers.Telegram.Updates;
using Messengers.Testing.Fakes.Telegram;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>Telegram.Bot's client against the fake Bot API: the fake must answer the library the way the real server does.</summary>
public sealed class TelegramBotClientTests : TelegramFakeTestBase
{
    private const long Ann = 111;

    [Fact]
    public async Task GetMe_ValidToken_ReturnsBotUser()
    {
        var me = await Client.GetMe(Ct);

        Assert.Equal(123456789, me.Id);
        Assert.True(me.IsBot);
        Assert.Equal("gateway_bot", me.Username);
        Assert.Equal("GatewayBot", me.FirstName);
        Assert.True(me.CanJoinGroups);
        Assert.Equal(123456789, Client.BotId);
    }

    [Fact]
    public async Task GetMe_RevokedToken_ThrowsUnauthorized()
    {
        Fake.RevokeBot(Token);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.GetMe(Ct));

        Assert.Equal(401, ex.ErrorCode);
        Assert.Equal("Unauthorized", ex.Message);
        Assert.DoesNotContain(Token, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetMe_UnknownToken_ThrowsUnauthorized()
    {
        var stranger = NewClient("42:unknown", Fake.BaseUrl);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => stranger.GetMe(Ct));

        Assert.Equal(401, ex.ErrorCode);
    }

    [Fact]
    public async Task GetUpdates_MessageArrivesDuringLongPoll_ReturnsIt()
    {
        var poll = Client.GetUpdates(timeout: 20, cancellationToken: Ct);
        await WaitUntilAsync(() => Fake.IsLongPollParked(Token));
        Assert.False(poll.IsCompleted);

        var sent = Fake.SendUserMessage(Token, Ann, "/start hello", new FakeUser(Ann, "Ann", "ann"));
        var updates = await poll;

        var update = Assert.Single(updates);
        Assert.Equal(sent.UpdateId, update.Id);
        var inbound = UpdateParser.Parse(update)!;
        Assert.Equal("/start hello", inbound.Text);
        Assert.Equal(ChatType.Private, inbound.ChatType);
        Assert.Equal(Ann, inbound.ChatId);
        Assert.Equal(Ann, inbound.Sender!.Id);
        Assert.Equal("ann", inbound.Sender.Username);
        Assert.Equal(MessageEntityType.BotCommand, Assert.Single(update.Message!.Entities!).Type);
    }

    [Fact]
    public async Task GetUpdates_NothingArrives_ReturnsEmptyAfterTimeout()
    {
        var updates = await Client.GetUpdates(timeout: 1, cancellationToken: Ct);

        Assert.Empty(updates);
        Assert.False(Fake.IsLongPollParked(Token));
    }

    [Fact]
    public async Task GetUpdates_OffsetAboveUpdateId_ConfirmsUpdates()
    {
        Fake.SendUserMessage(Token, Ann, "one");
        Fake.SendUserMessage(Token, Ann, "two");

        var first = await Client.GetUpdates(cancellationToken: Ct);
        var again = await Client.GetUpdates(cancellationToken: Ct);
        Assert.Equal(["one", "two"], first.Select(u => u.Message!.Text));
        Assert.Equal(first[0].Id + 1, first[1].Id);
        Assert.Equal(2, again.Length);

        var confirmed = await Client.GetUpdates(offset: first[0].Id + 1, cancellationToken: Ct);
        Assert.Equal("two", Assert.Single(confirmed).Message!.Text);

        var none = await Client.GetUpdates(offset: first[1].Id + 1, cancellationToken: Ct);
        Assert.Empty(none);
        Assert.Equal(0, Fake.PendingUpdateCount(Token));
    }

    [Fact]
    public async Task GetUpdates_LimitAndNegativeOffset_SelectUpdates()
    {
        for (var i = 0; i < 5; i++)
        {
            Fake.SendUserMessage(Token, Ann, $"m{i}");
        }

        var limited = await Client.GetUpdates(limit: 2, cancellationToken: Ct);
        var lastTwo = await Client.GetUpdates(offset: -2, cancellationToken: Ct);

        Assert.Equal(["m0", "m1"], limited.Select(u => u.Message!.Text));
        Assert.Equal(["m3", "m4"], lastTwo.Select(u => u.Message!.Text));
    }

    [Fact]
    public async Task GetUpdates_SecondConcurrentPoll_Returns409ToTheFirst()
    {
        var first = Client.GetUpdates(timeout: 20, cancellationToken: Ct);
        await WaitUntilAsync(() => Fake.IsLongPollParked(Token));

        var second = Client.GetUpdates(timeout: 1, cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => first);
        Assert.Equal(409, ex.ErrorCode);
        Assert.Equal("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", ex.Message);
        Assert.Empty(await second);
    }

    [Fact]
    public async Task GetUpdates_WhileWebhookSet_Returns409()
    {
        await Client.SetWebhook("http://127.0.0.1:9/hook", cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.GetUpdates(cancellationToken: Ct));

        Assert.Equal(409, ex.ErrorCode);
        Assert.StartsWith("Conflict: can't use getUpdates method while webhook is active", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetUpdates_SetWebhookDuringPoll_Returns409()
    {
        var poll = Client.GetUpdates(timeout: 20, cancellationToken: Ct);
        await WaitUntilAsync(() => Fake.IsLongPollParked(Token));

        await Client.SetWebhook("http://127.0.0.1:9/hook", cancellationToken: Ct);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => poll);
        Assert.Equal(409, ex.ErrorCode);
        Assert.Equal("Conflict: terminated by setWebhook request", ex.Message);
    }

    [Fact]
    public async Task GetUpdates_CallerCancels_ThrowsOperationCanceled()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var poll = Client.GetUpdates(timeout: 20, cancellationToken: cts.Token);
        await WaitUntilAsync(() => Fake.IsLongPollParked(Token));

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => poll);
        await WaitUntilAsync(() => !Fake.IsLongPollParked(Token));
    }

    [Fact]
    public async Task Webhook_SetInfoDelete_RoundTrips()
    {
        Assert.Equal("", (await Client.GetWebhookInfo(Ct)).Url);

        await Client.SetWebhook("http://127.0.0.1:9/tg/abc", allowedUpdates: [UpdateType.Message], dropPendingUpdates: true, secretToken: "s3cr3t_-", cancellationToken: Ct);
        var info = await Client.GetWebhookInfo(Ct);
        Assert.Equal("http://127.0.0.1:9/tg/abc", info.Url);
        Assert.Equal([UpdateType.Message], info.AllowedUpdates!);
        Assert.Equal(40, info.MaxConnections);

        await Client.DeleteWebhook(cancellationToken: Ct);
        Assert.Equal("", (await Client.GetWebhookInfo(Ct)).Url);
    }

    [Fact]
    public async Task Webhook_InvalidSecret_ThrowsBadRequest()
    {
        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SetWebhook("http://127.0.0.1:9/x", secretToken: "bad secret!", cancellationToken: Ct));

        Assert.Equal(400, ex.ErrorCode);
    }

    [Fact]
    public async Task Webhook_UserMessage_DeliveredWithSecretHeader()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        await Client.SetWebhook(new Uri(receiver.BaseUrl, "/tg/hook").AbsoluteUri, secretToken: "secret-123", cancellationToken: Ct);

        var sent = Fake.SendUserMessage(Token, -1001234, "hi group", new FakeUser(5, "Bob"), "supergroup", "Team");

        var delivery = Assert.Single(await receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal("/tg/hook", delivery.Path);
        Assert.StartsWith("application/json", delivery.ContentType, StringComparison.Ordinal);
        Assert.True(TelegramWebhook.IsSecretValid("secret-123", delivery.SecretToken));
        Assert.False(TelegramWebhook.IsSecretValid("secret-124", delivery.SecretToken));
        var update = UpdateParser.Deserialize(delivery.Body)!;
        Assert.Equal(sent.UpdateId, update.Id);
        var inbound = UpdateParser.Parse(update)!;
        Assert.Equal(ChatType.Supergroup, inbound.ChatType);
        Assert.Equal("Team", inbound.ChatTitle);
        Assert.Equal("hi group", inbound.Text);
        Assert.True(inbound.IsGroup);
        await WaitUntilAsync(() => Fake.PendingUpdateCount(Token) == 0);
    }

    [Fact]
    public async Task Webhook_ReceiverFails_RetriedUntilAccepted()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        receiver.FailNext(2);
        await Client.SetWebhook(receiver.BaseUrl.AbsoluteUri, cancellationToken: Ct);

        Fake.SendUserMessage(Token, Ann, "retry me");

        var deliveries = await receiver.WaitForAsync(3, TimeSpan.FromSeconds(30));
        Assert.Equal([500, 500, 200], deliveries.Select(d => d.AnsweredStatus));
        Assert.All(deliveries, d => Assert.Equal("retry me", UpdateParser.Deserialize(d.Body)!.Message!.Text));
        Assert.Null(deliveries[0].SecretToken);
        var info = await Client.GetWebhookInfo(Ct);
        Assert.Equal("Wrong response from the webhook: 500 Internal Server Error", info.LastErrorMessage);
    }

    [Fact]
    public async Task Webhook_AnswerWithMethodCall_IsExecuted()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        receiver.ResponseBody = $$"""{"method":"sendMessage","chat_id":{{Ann}},"text":"pong"}""";
        await Client.SetWebhook(receiver.BaseUrl.AbsoluteUri, cancellationToken: Ct);

        Fake.SendUserMessage(Token, Ann, "ping");

        var sent = await Fake.WaitForSentMessagesAsync(Token, Ann, 1, TimeSpan.FromSeconds(30));
        Assert.Equal("pong", Assert.Single(sent).Text);
    }

    [Fact]
    public async Task SendMessage_AllOptions_ReachTheFake()
    {
        var incoming = Fake.SendUserMessage(Token, Ann, "/start", new FakeUser(Ann, "Ann", "ann"));

        var message = await Client.SendMessage(
            Ann,
            "<b>Hi</b> &amp; bye",
            ParseMode.Html,
            new ReplyParameters { MessageId = (int)incoming.MessageId },
            linkPreviewOptions: new LinkPreviewOptions { IsDisabled = true },
            disableNotification: true,
            cancellationToken: Ct);

        Assert.Equal("Hi & bye", message.Text);
        Assert.Equal(incoming.MessageId, message.ReplyToMessage!.MessageId);
        Assert.Equal(123456789, message.From!.Id);
        Assert.Equal(ChatType.Private, message.Chat.Type);
        Assert.Equal(incoming.MessageId + 1, message.MessageId);
        var sent = Assert.Single(Fake.GetSentMessages(Token, Ann));
        Assert.Equal("<b>Hi</b> &amp; bye", sent.Text);
        Assert.Equal("HTML", sent.ParseMode);
        Assert.Equal(incoming.MessageId, sent.ReplyToMessageId);
        Assert.True(sent.DisableNotification);
        Assert.True(sent.LinkPreviewDisabled);
        Assert.Equal(1, Fake.CallCount(Token, "sendMessage"));
    }

    [Fact]
    public async Task SendMessage_MarkdownV2_RecordsParseMode()
    {
        Fake.AddChat(Token, Ann);

        await Client.SendMessage(Ann, "*bold*", ParseMode.MarkdownV2, cancellationToken: Ct);

        Assert.Equal("MarkdownV2", Assert.Single(Fake.GetSentMessages(Token, Ann)).ParseMode);
    }

    [Fact]
    public async Task SendMessage_UnknownChat_ThrowsChatNotFound()
    {
        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendMessage(999, "hello", cancellationToken: Ct));

        Assert.Equal(400, ex.ErrorCode);
        Assert.Equal("Bad Request: chat not found", ex.Message);
    }

    [Fact]
    public async Task SendMessage_BlockedByUser_ThrowsForbidden()
    {
        Fake.AddChat(Token, Ann);
        Fake.BlockBot(Token, Ann);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendMessage(Ann, "hello", cancellationToken: Ct));

        Assert.Equal(403, ex.ErrorCode);
        Assert.Equal("Forbidden: bot was blocked by the user", ex.Message);
    }

    [Fact]
    public async Task SendMessage_Flooded_ThrowsWithRetryAfter()
    {
        Fake.AddChat(Token, Ann);
        Fake.FloodFor(Token, TimeSpan.FromMinutes(1), retryAfterSeconds: 5);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendMessage(Ann, "hello", cancellationToken: Ct));

        Assert.Equal(429, ex.ErrorCode);
        Assert.True(TelegramErrors.IsFloodWait(ex, out var retryAfter));
        Assert.Equal("Too Many Requests: retry after 5", ex.Message);
        Assert.Equal(TimeSpan.FromSeconds(5), retryAfter);
        Assert.Empty(Fake.GetSentMessages(Token, Ann));
    }

    [Fact]
    public async Task SendMessage_ServerErrors_CountAsServerErrors()
    {
        Fake.AddChat(Token, Ann);
        Fake.FailNextCalls(Token, 1, 500);
        var envelope = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendMessage(Ann, "a", cancellationToken: Ct));
        Fake.FailNextCalls(Token, 1, 502);
        // A proxy's HTML page is no Bot API answer: the library reports it as a RequestException with the HTTP status.
        var proxyPage = await Assert.ThrowsAsync<RequestException>(() => Client.SendMessage(Ann, "b", cancellationToken: Ct));

        Assert.Equal(500, envelope.ErrorCode);
        Assert.Equal("Internal Server Error", envelope.Message);
        Assert.True(TelegramErrors.IsServerError(envelope));
        Assert.Equal(System.Net.HttpStatusCode.BadGateway, proxyPage.HttpStatusCode);
        Assert.True(TelegramErrors.IsServerError(proxyPage));
    }

    [Fact]
    public async Task Call_ConnectionDropped_ThrowsNetworkExceptionWithoutToken()
    {
        // A loopback server that accepts and closes every connection without answering.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var dropping = Task.Run(async () =>
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync(Ct);
                socket.Close();
            }
        }, Ct);
        var dead = NewClient(Token, new Uri($"http://127.0.0.1:{port}"));

        var ex = await Assert.ThrowsAsync<RequestException>(() => dead.GetMe(Ct));

        Assert.StartsWith("Bot API Service Failure", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, ex.ToString(), StringComparison.Ordinal);
        listener.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => dropping);
    }

    [Fact]
    public async Task Call_ServerTooSlow_ThrowsTimedOut()
    {
        using var http = new HttpClient(new TelegramHttpHandler(new SocketsHttpHandler { UseProxy = false }, useHttp2: false, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200)));
        var impatient = NewClient(Token, Fake.BaseUrl, http);
        Fake.SetResponseDelay(Token, TimeSpan.FromSeconds(5));

        var ex = await Assert.ThrowsAsync<RequestException>(() => impatient.GetMe(Ct));

        Assert.Equal("Bot API Request timed out", ex.Message);
    }

    [Fact]
    public async Task SendPhoto_Upload_GetFileDownloadsSameBytes()
    {
        Fake.AddChat(Token, Ann);
        var bytes = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray();
        using var stream = new MemoryStream(bytes);

        var message = await Client.SendPhoto(Ann, InputFile.FromStream(stream, "cat.jpg"), "a <i>cat</i>", ParseMode.Html, cancellationToken: Ct);

        var photo = Assert.Single(message.Photo!);
        Assert.Equal("a <i>cat</i>", Assert.Single(Fake.GetSentMessages(Token, Ann)).Caption);
        Assert.Equal(bytes, Fake.GetFileContent(Token, photo.FileId));
        var file = await Client.GetFile(photo.FileId, Ct);
        Assert.StartsWith("photos/", file.FilePath, StringComparison.Ordinal);
        Assert.Equal(bytes.Length, file.FileSize);
        Assert.Equal(bytes, await DownloadAsync(file.FilePath!));
    }

    [Fact]
    public async Task SendDocumentAudioVideoVoice_UploadUrlAndFileId_Accepted()
    {
        Fake.AddChat(Token, Ann);
        using var pdf = new MemoryStream(Encoding.ASCII.GetBytes("%PDF-1.4 test"));

        var document = await Client.SendDocument(Ann, InputFile.FromStream(pdf, "r.pdf"), "report", cancellationToken: Ct);
        var again = await Client.SendDocument(Ann, InputFile.FromFileId(document.Document!.FileId), cancellationToken: Ct);
        var audio = await Client.SendAudio(Ann, InputFile.FromUri(new Uri("https://example.org/a.mp3")), title: "song", cancellationToken: Ct);
        using var mp4 = new MemoryStream([1, 2, 3]);
        var video = await Client.SendVideo(Ann, InputFile.FromStream(mp4, "v.mp4"), width: 640, height: 360, cancellationToken: Ct);
        using var ogg = new MemoryStream([4, 5]);
        var voice = await Client.SendVoice(Ann, InputFile.FromStream(ogg, "v.ogg"), duration: 2, cancellationToken: Ct);

        Assert.Equal("r.pdf", document.Document.FileName);
        Assert.Equal("application/pdf", document.Document.MimeType);
        Assert.Equal("report", document.Caption);
        Assert.Equal(document.Document.FileId, again.Document!.FileId);
        Assert.NotNull(audio.Audio);
        Assert.Equal(640, video.Video!.Width);
        Assert.Equal(2, voice.Voice!.Duration);
        var sent = Fake.GetSentMessages(Token, Ann);
        Assert.Equal(["document", "document", "audio", "video", "voice"], sent.Select(s => s.MediaKind));
        Assert.Equal("https://example.org/a.mp3", sent[2].MediaUrl);
        Assert.Equal([1, 2, 3], sent[3].Content);
    }

    [Fact]
    public async Task SendMessage_MigratedGroup_ThrowsWithMigrateToChatId()
    {
        Fake.SendUserMessage(Token, -42, "hi", chatType: "group", chatTitle: "Old");
        Fake.MigrateGroup(Token, -42, -1001000000042);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendMessage(-42, "hello", cancellationToken: Ct));
        var moved = await Client.SendMessage(ex.Parameters!.MigrateToChatId!.Value, "hello", cancellationToken: Ct);

        Assert.Equal(400, ex.ErrorCode);
        Assert.Equal("Bad Request: group chat was upgraded to a supergroup chat", ex.Message);
        Assert.Equal(-1001000000042, ex.Parameters.MigrateToChatId);
        Assert.Equal(ChatType.Supergroup, moved.Chat.Type);
    }

    [Fact]
    public async Task FakeServer_MultipartAttachReference_StoresFile()
    {
        Fake.AddChat(Token, Ann);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(Ann.ToString(System.Globalization.CultureInfo.InvariantCulture)), "chat_id" },
            { new StringContent("attach://blob"), "document" },
            { new StringContent("""{"message_id":999,"allow_sending_without_reply":true}"""), "reply_parameters" },
            { new ByteArrayContent([7, 7, 7]), "blob", "blob.bin" },
        };

        using var response = await Http.PostAsync(new Uri(Fake.BaseUrl, $"/bot{Token}/sendDocument"), form, Ct);

        Assert.Equal(200, (int)response.StatusCode);
        var sent = Assert.Single(Fake.GetSentMessages(Token, Ann));
        Assert.Equal([7, 7, 7], sent.Content);
        Assert.Equal("blob.bin", sent.FileName);
    }

    [Fact]
    public async Task SendPhoto_WrongFileId_ThrowsBadRequest()
    {
        Fake.AddChat(Token, Ann);

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendPhoto(Ann, InputFile.FromFileId("nope"), cancellationToken: Ct));

        Assert.Equal("Bad Request: wrong file_id or the file is temporarily unavailable", ex.Message);
    }

    [Fact]
    public async Task UserDocument_GetFileAndDownload_ReturnsBytes()
    {
        var bytes = Encoding.UTF8.GetBytes("hello from a user");
        Fake.SendUserDocument(Token, Ann, bytes, "note.txt", "text/plain", "see attached");

        var update = Assert.Single(await Client.GetUpdates(cancellationToken: Ct));
        var inbound = UpdateParser.Parse(update)!;
        var media = Assert.Single(inbound.Media);
        var file = await Client.GetFile(media.FileId, Ct);

        Assert.Equal(MediaKind.Document, media.Kind);
        Assert.Equal("note.txt", media.FileName);
        Assert.Equal("see attached", inbound.TextOrCaption);
        Assert.Null(inbound.Text);
        using var target = new MemoryStream();
        await Client.DownloadFile(file.FilePath!, target, Ct);
        Assert.Equal(bytes, target.ToArray());
    }

    [Fact]
    public async Task UserPhoto_Parsed_LargestPhotoReferenced()
    {
        Fake.SendUserPhoto(Token, Ann, [9, 9, 9], "pic");

        var update = Assert.Single(await Client.GetUpdates(cancellationToken: Ct));
        var media = Assert.Single(UpdateParser.GetMedia(update.Message!));

        Assert.Equal(MediaKind.Photo, media.Kind);
        Assert.Equal(new byte[] { 9, 9, 9 }, await DownloadAsync((await Client.GetFile(media.FileId, Ct)).FilePath!));
    }

    [Fact]
    public async Task DownloadFile_UnknownPath_Throws404()
    {
        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.DownloadFile("photos/none.jpg", new MemoryStream(), Ct));

        Assert.Equal(404, ex.ErrorCode);
    }

    [Fact]
    public async Task EditDeleteReact_OnSentMessage_Applied()
    {
        Fake.AddChat(Token, Ann);
        var message = await Client.SendMessage(Ann, "draft", cancellationToken: Ct);

        var edited = await Client.EditMessageText(Ann, message.MessageId, "final", cancellationToken: Ct);
        var notModified = await Assert.ThrowsAsync<ApiRequestException>(() => Client.EditMessageText(Ann, message.MessageId, "final", cancellationToken: Ct));
        await Client.SetMessageReaction(Ann, message.MessageId, [new ReactionTypeEmoji { Emoji = "👍" }], cancellationToken: Ct);
        var reaction = Fake.GetReaction(Token, Ann, message.MessageId);
        await Client.DeleteMessage(Ann, message.MessageId, Ct);
        var gone = await Assert.ThrowsAsync<ApiRequestException>(() => Client.DeleteMessage(Ann, message.MessageId, Ct));

        Assert.Equal("final", edited.Text);
        Assert.NotNull(edited.EditDate);
        Assert.StartsWith("Bad Request: message is not modified", notModified.Message, StringComparison.Ordinal);
        Assert.Equal("👍", JsonNode.Parse(reaction!)![0]!["emoji"]!.GetValue<string>());
        Assert.Equal("Bad Request: message to delete not found", gone.Message);
        var sent = Assert.Single(Fake.GetSentMessages(Token, Ann));
        Assert.Equal("final", sent.Text);
        Assert.True(sent.IsDeleted);
    }

    [Fact]
    public async Task GetChatAndAdministrators_GroupChat_ReturnsInfo()
    {
        var owner = new FakeUser(7, "Olga", "olga");
        Fake.SendUserMessage(Token, -42, "hi", owner, "group", "Friends");

        var chat = await Client.GetChat(-42, Ct);
        var admins = await Client.GetChatAdministrators(-42, cancellationToken: Ct);
        var privateChat = await Assert.ThrowsAsync<ApiRequestException>(() => Client.GetChatAdministrators(Ann, cancellationToken: Ct));

        Assert.Equal(ChatType.Group, chat.Type);
        Assert.Equal("Friends", chat.Title);
        Assert.Equal(11, chat.MaxReactionCount);
        var creator = Assert.Single(admins);
        Assert.Equal(ChatMemberStatus.Creator, creator.Status);
        Assert.Equal(7, creator.User.Id);
        Assert.Equal(400, privateChat.ErrorCode);
    }

    [Fact]
    public async Task SendChatAction_Typing_Recorded()
    {
        Fake.AddChat(Token, Ann);

        await Client.SendChatAction(Ann, ChatAction.Typing, cancellationToken: Ct);
        await Client.SendChatAction(Ann, ChatAction.UploadDocument, cancellationToken: Ct);

        Assert.Equal(["typing", "upload_document"], Fake.GetChatActions(Token, Ann));
    }

    [Fact]
    public async Task ChannelPost_Parsed_SenderIsChat()
    {
        Fake.SendUserMessage(Token, -1009, "news", chatType: "channel", chatTitle: "Daily");

        var update = Assert.Single(await Client.GetUpdates(cancellationToken: Ct));
        var inbound = UpdateParser.Parse(update)!;

        Assert.Equal(UpdateMessageKind.ChannelPost, inbound.Kind);
        Assert.Equal(ChatType.Channel, inbound.ChatType);
        Assert.True(inbound.Sender!.IsChat);
        Assert.Equal("Daily", inbound.Sender.DisplayName);
    }

    [Fact]
    public async Task TwoBots_SameServer_KeepSeparateQueues()
    {
        const string other = "987654:OtherBotToken";
        Fake.AddBot(other);
        var otherClient = NewClient(other, Fake.BaseUrl);
        Fake.SendUserMessage(Token, Ann, "for first");
        Fake.SendUserMessage(other, Ann, "for second");

        var first = await Client.GetUpdates(cancellationToken: Ct);
        var second = await otherClient.GetUpdates(cancellationToken: Ct);

        Assert.Equal("for first", Assert.Single(first).Message!.Text);
        Assert.Equal("for second", Assert.Single(second).Message!.Text);
        Assert.Equal(987654, (await otherClient.GetMe(Ct)).Id);
    }

    [Fact]
    public async Task FakeServer_FormQueryAndCaseInsensitiveMethods_Accepted()
    {
        Fake.AddChat(Token, Ann);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["chat_id"] = Ann.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["text"] = "via form",
            ["reply_to_message_id"] = "77",
            ["allow_sending_without_reply"] = "true",
            ["disable_web_page_preview"] = "true",
        });

        using var viaForm = await Http.PostAsync(new Uri(Fake.BaseUrl, $"/bot{Token}/SENDMESSAGE"), form, Ct);
        using var viaQuery = await Http.GetAsync(new Uri(Fake.BaseUrl, $"/bot{Token}/sendmessage?chat_id={Ann}&text=via%20query"), Ct);
        using var unknown = await Http.GetAsync(new Uri(Fake.BaseUrl, $"/bot{Token}/noSuchMethod"), Ct);
        using var badToken = await Http.GetAsync(new Uri(Fake.BaseUrl, "/bot0abc/getMe"), Ct);

        Assert.Equal(200, (int)viaForm.StatusCode);
        Assert.Equal(200, (int)viaQuery.StatusCode);
        Assert.Equal(404, (int)unknown.StatusCode);
        var notFound = await unknown.Content.ReadFromJsonAsync<JsonObject>(Ct);
        Assert.Equal("Not Found: method not found", (string?)notFound!["description"]);
        Assert.False((bool)notFound["ok"]!);
        Assert.Equal(401, (int)badToken.StatusCode);
        Assert.Equal("application/json", viaForm.Content.Headers.ContentType!.MediaType);
        var sent = Fake.GetSentMessages(Token, Ann);
        Assert.Equal(["via form", "via query"], sent.Select(s => s.Text));
        Assert.True(sent[0].LinkPreviewDisabled);
        Assert.Null(sent[0].ReplyToMessageId);
    }

    private async Task<byte[]> DownloadAsync(string filePath)
    {
        using var buffer = new MemoryStream();
        await Client.DownloadFile(filePath, buffer, Ct);
        return buffer.ToArray();
    }
}
