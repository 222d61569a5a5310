using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Abstractions.Telegram;
using Messengers.Data.Messages;
using Messengers.Data.Security;
using Messengers.Providers.Telegram;
using Messengers.Providers.Tests.Support;
using Messengers.Testing.Fakes.Telegram;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telegram.Bot;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>
/// Webhook mode of the provider against the fake Bot API: the fake delivers to a loopback receiver standing in for
/// the gateway's hook endpoint, and a test hands a delivery to the connection as the instance's ProviderClientGrain
/// does; the secret lives in a real <see cref="TelegramWebhookGrain"/> on an in-process Orleans silo whose grain
/// storage is the embedded host's (ADO.NET on a SQLite file).
/// </summary>
public sealed class TelegramWebhookModeTests : TelegramFakeTestBase
{
    private const string InstanceId = "tg1";
    private const string SecretHeader = "x-telegram-bot-api-secret-token"; // WebhookDelivery header names are lower-case
    private readonly string _mediaPath = Path.Combine(Path.GetTempPath(), "tgmedia-" + Guid.NewGuid().ToString("N"));
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-tgwebhook-");
    private readonly RecordingCallbacks _callbacks = new();
    private readonly LogLines _logs = new();
    private StorageCluster _silo = null!;
    private ILoggerFactory _loggers = null!;
    private TelegramProvider _provider = null!;
    private WebhookReceiver _receiver = null!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _receiver = await WebhookReceiver.StartAsync(Ct);
        var secrets = new AesGcmSecretProtector(RandomNumberGenerator.GetBytes(32));
        _silo = await StorageCluster.StartAsync(
            GrainStorageDatabase.Sqlite(Path.Combine(_folder.FullName, "messengers.db")),
            services: services => services.AddSingleton<ISecretProtector>(secrets));
        _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));
        _provider = new TelegramProvider(
            Options.Create(new TelegramOptions { ApiBaseUrl = Fake.BaseUrl.ToString(), PollTimeoutSeconds = 1, MaxRetryDelay = TimeSpan.FromMilliseconds(200) }),
            new FileMediaStore(_mediaPath),
            TimeProvider.System,
            _loggers,
            _silo.Client);
    }

    public override async ValueTask DisposeAsync()
    {
        _provider.Dispose();
        _loggers.Dispose();
        await _silo.DisposeAsync();
        await _receiver.DisposeAsync();
        await base.DisposeAsync();
        if (Directory.Exists(_mediaPath))
        {
            Directory.Delete(_mediaPath, recursive: true);
        }

        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }

    private ITelegramWebhookGrain WebhookGrain => _silo.Client.GetGrain<ITelegramWebhookGrain>(InstanceId);

    private IMessengerConnection Connect(string? publicUrl)
    {
        var settings = new Dictionary<string, string>();
        if (publicUrl is not null)
        {
            settings[TelegramProvider.PublicUrlSetting] = publicUrl;
        }

        return _provider.Connect(new ConnectionConfig(InstanceId, "telegram", new Dictionary<string, string> { ["botToken"] = Token }, settings, new AgentSettings()), _callbacks);
    }

    [Fact]
    public async Task Start_PublicUrl_RegistersWebhookWhoseDeliveriesCarryTheStoredSecret()
    {
        await using var connection = Connect(_receiver.BaseUrl.ToString());
        await connection.StartAsync(Ct);
        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Ready));

        var info = await Client.GetWebhookInfo(Ct);
        Assert.Equal(new Uri(_receiver.BaseUrl, "/hooks/telegram/tg1"), new Uri(info.Url));
        Fake.SendUserMessage(Token, 501, "by webhook");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        Assert.Equal("/hooks/telegram/tg1", delivery.Path);
        Assert.Contains("by webhook", delivery.Body, StringComparison.Ordinal);
        var webhook = WebhookGrain;
        Assert.True(await webhook.VerifySecretAsync(delivery.SecretToken!));
        Assert.False(await webhook.VerifySecretAsync(delivery.SecretToken! + "x"));
        Assert.Equal(await webhook.GetOrCreateSecretAsync(), delivery.SecretToken);
        Assert.DoesNotContain(_logs.Lines, line => line.Contains(delivery.SecretToken!, StringComparison.Ordinal));
        Assert.Equal(0, Fake.CallCount(Token, "getUpdates"));
    }

    [Fact]
    public async Task Stop_WebhookMode_DeletesTheWebhookSoUpdatesWaitAtTelegram()
    {
        var connection = Connect(_receiver.BaseUrl.ToString());
        await connection.StartAsync(Ct);
        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Ready));

        await connection.DisposeAsync();
        Fake.SendUserMessage(Token, 501, "while stopped");

        Assert.Equal("", (await Client.GetWebhookInfo(Ct)).Url);
        Assert.Equal(1, Fake.PendingUpdateCount(Token));
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task Restart_SameInstance_KeepsItsSecret()
    {
        var first = Connect(_receiver.BaseUrl.ToString());
        await first.StartAsync(Ct);
        await WaitUntilAsync(() => Fake.GetWebhookSecret(Token) is not null);
        var secret = Fake.GetWebhookSecret(Token);
        await first.DisposeAsync();

        await using var second = Connect(_receiver.BaseUrl.ToString());
        await second.StartAsync(Ct);
        await WaitUntilAsync(() => Fake.GetWebhookSecret(Token) is not null);

        Assert.Equal(secret, Fake.GetWebhookSecret(Token));
        Assert.Matches("^[A-Za-z0-9_-]{32,256}$", secret);
    }

    [Fact]
    public async Task Poll_OwnWebhookLeftBehind_IsDeletedAndPollingTakesOver()
    {
        await Client.SetWebhook("http://127.0.0.1:9/hooks/telegram/tg1", secretToken: "left-behind", cancellationToken: Ct);
        await using var connection = Connect("");
        await connection.StartAsync(Ct);

        Fake.SendUserMessage(Token, 501, "polled again");
        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty, 30_000);

        Assert.Equal("polled again", Assert.Single(_callbacks.Messages).Body);
        Assert.Equal("", (await Client.GetWebhookInfo(Ct)).Url);
        Assert.DoesNotContain(_callbacks.Statuses, s => s.Status == InstanceStatus.Disconnected);
    }

    [Fact]
    public async Task Poll_ForeignWebhookActive_ReportsTheConflictAndLeavesIt()
    {
        await Client.SetWebhook("http://127.0.0.1:9/someone-else", cancellationToken: Ct);
        await using var connection = Connect(null);
        await connection.StartAsync(Ct);

        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Disconnected));

        Assert.Contains("409 Conflict", _callbacks.Statuses.First(s => s.Status == InstanceStatus.Disconnected).Reason, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:9/someone-else", (await Client.GetWebhookInfo(Ct)).Url);
    }

    [Fact]
    public async Task Receive_DeliveryWithTheSecret_StoresTheMessageBeforeAnsweringAccepted()
    {
        await using var connection = await StartedWebhookConnectionAsync();
        var sent = Fake.SendUserMessage(Token, 501, "by webhook");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        var result = await connection.ReceiveAsync(Delivery(delivery.Body, delivery.SecretToken), Ct);

        Assert.Equal(InboundOutcome.Accepted, result.Outcome);
        var message = Assert.Single(_callbacks.Messages);
        Assert.Equal(($"501_{sent.MessageId}", "501", "by webhook"), (message.MessageId, message.ChatId, message.Body));
        Assert.Equal((message.MessageId, message.Timestamp), (result.MessageId, result.Timestamp));
        Assert.Equal(0, Fake.CallCount(Token, "getUpdates"));
    }

    [Fact]
    public async Task Receive_SameDeliveryTwice_StoredUnderTheSameMessageIdBothTimes()
    {
        await using var connection = await StartedWebhookConnectionAsync();
        Fake.SendUserMessage(Token, 501, "redelivered");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        var first = await connection.ReceiveAsync(Delivery(delivery.Body, delivery.SecretToken), Ct);
        var second = await connection.ReceiveAsync(Delivery(delivery.Body, delivery.SecretToken), Ct);

        // The chat grain dedupes on the message id, so Telegram's redelivery must carry the same one.
        Assert.Equal((InboundOutcome.Accepted, InboundOutcome.Accepted), (first.Outcome, second.Outcome));
        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(2, _callbacks.Messages.Count);
        Assert.Single(_callbacks.Messages.Select(m => m.MessageId).Distinct());
    }

    [Fact]
    public async Task Receive_SecretHeaderMissing_UnauthenticatedAndNothingStored()
    {
        await using var connection = await StartedWebhookConnectionAsync();
        Fake.SendUserMessage(Token, 501, "no secret");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        var missing = await connection.ReceiveAsync(Delivery(delivery.Body, secret: null), Ct);
        var empty = await connection.ReceiveAsync(Delivery(delivery.Body, secret: ""), Ct);

        Assert.Equal((InboundOutcome.Unauthenticated, InboundOutcome.Unauthenticated), (missing.Outcome, empty.Outcome));
        Assert.Contains("X-Telegram-Bot-Api-Secret-Token", missing.Detail, StringComparison.Ordinal);
        Assert.Empty(_callbacks.Messages);
    }

    [Fact]
    public async Task Receive_WrongSecret_ForbiddenAndNothingStored()
    {
        await using var connection = await StartedWebhookConnectionAsync();
        Fake.SendUserMessage(Token, 501, "forged");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        var result = await connection.ReceiveAsync(Delivery(delivery.Body, delivery.SecretToken + "x"), Ct);

        Assert.Equal(InboundOutcome.Forbidden, result.Outcome);
        Assert.DoesNotContain(delivery.SecretToken!, result.Detail, StringComparison.Ordinal);
        Assert.Empty(_callbacks.Messages);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"message\":{\"message_id\":1}}")]
    public async Task Receive_BodyNotAnUpdate_InvalidAndNothingStored(string body)
    {
        await using var connection = await StartedWebhookConnectionAsync();
        var secret = await WebhookGrain.GetOrCreateSecretAsync();

        var result = await connection.ReceiveAsync(Delivery(body, secret), Ct);

        Assert.Equal(InboundOutcome.Invalid, result.Outcome);
        Assert.Contains("not a Telegram Update", result.Detail, StringComparison.Ordinal);
        Assert.Empty(_callbacks.Messages);
    }

    [Fact]
    public async Task Receive_FileDownloadFails_RetryLaterThenStoredOnRedelivery()
    {
        await using var connection = await StartedWebhookConnectionAsync();
        byte[] photo = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        Fake.SendUserPhoto(Token, 501, photo, caption: "a photo");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Fake.FailNextCalls(Token, 1, 500, "getFile");

        var failed = await connection.ReceiveAsync(Delivery(delivery.Body, delivery.SecretToken), Ct);
        Assert.Equal(InboundOutcome.RetryLater, failed.Outcome);
        Assert.Empty(_callbacks.Messages);

        var retried = await connection.ReceiveAsync(Delivery(delivery.Body, delivery.SecretToken), Ct);

        Assert.Equal(InboundOutcome.Accepted, retried.Outcome);
        var message = Assert.Single(_callbacks.Messages);
        Assert.Equal(("a photo", (long)photo.Length), (message.Body, message.Media?.Size));
    }

    [Fact]
    public async Task Receive_NotAWebhookDelivery_NotSupported()
    {
        await using var connection = await StartedWebhookConnectionAsync();

        await Assert.ThrowsAsync<CapabilityNotSupportedException>(() => connection.ReceiveAsync(new VisitorPost("visitor-1", "hi"), Ct));
    }

    [Fact]
    public async Task Secret_WebhookGrainReactivated_ReadBackFromStorageUnchanged()
    {
        var secret = await WebhookGrain.GetOrCreateSecretAsync();

        await _silo.Cluster.DeactivateAsync(WebhookGrain);

        Assert.Equal(secret, await WebhookGrain.GetOrCreateSecretAsync());
        Assert.True(await WebhookGrain.VerifySecretAsync(secret));
    }

    [Fact]
    public async Task ForgetInstance_WebhookSecret_NextRegistrationGetsANewOne()
    {
        var first = Connect(_receiver.BaseUrl.ToString());
        await first.StartAsync(Ct);
        await WaitUntilAsync(() => Fake.GetWebhookSecret(Token) is not null);
        var old = Fake.GetWebhookSecret(Token)!;
        await first.DisposeAsync();

        await _provider.ForgetInstanceAsync(InstanceId, Ct);
        await using var second = Connect(_receiver.BaseUrl.ToString());
        await second.StartAsync(Ct);
        await WaitUntilAsync(() => Fake.GetWebhookSecret(Token) is not null);

        Assert.NotEqual(old, Fake.GetWebhookSecret(Token));
        Assert.False(await WebhookGrain.VerifySecretAsync(old));
        Assert.True(await WebhookGrain.VerifySecretAsync(Fake.GetWebhookSecret(Token)!));
    }

    private async Task<IMessengerConnection> StartedWebhookConnectionAsync()
    {
        var connection = Connect(_receiver.BaseUrl.ToString());
        await connection.StartAsync(Ct);
        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Ready));
        return connection;
    }

    private static WebhookDelivery Delivery(string body, string? secret)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (secret is not null)
        {
            headers[SecretHeader] = secret;
        }

        return new WebhookDelivery(headers, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Every log line of the provider, at every level.</summary>
    private sealed class LogLines : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => lines.Enqueue($"{formatter(state, exception)} {exception}");
        }
    }
}
