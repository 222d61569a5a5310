using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Grains.Messages;
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

        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty, 10_000);
        Assert.Equal(2, _callbacks.Attempts);
        Assert.Equal("stored later", Assert.Single(_callbacks.Messages).Body);
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

        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Failed), 10_000);
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

    private sealed class RecordingCallbacks : IConnectionCallbacks
    {
        public ConcurrentQueue<(InstanceStatus Status, string? Reason, AccountInfo? Account)> Statuses { get; } = new();

        public ConcurrentQueue<InboundMessage> Messages { get; } = new();

        public int FailNextMessages { get; set; }

        public int Attempts;

        public Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null)
        {
            Statuses.Enqueue((status, reason, account));
            return Task.CompletedTask;
        }

        public Task OnQrAsync(QrCodeInfo? qr) => Task.CompletedTask;

        public Task OnMessageAsync(InboundMessage message)
        {
            Interlocked.Increment(ref Attempts);
            if (FailNextMessages > 0)
            {
                FailNextMessages--;
                throw new InvalidOperationException("storage is down");
            }

            Messages.Enqueue(message);
            return Task.CompletedTask;
        }

        public Task OnAckAsync(string messageId, MessageAck ack) => Task.CompletedTask;
    }
}
