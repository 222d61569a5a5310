using System.Collections.Concurrent;
using System.Security.Cryptography;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Grains.Messages;
using Messengers.Grains.Security;
using Messengers.Providers.Telegram;
using Messengers.Runtime;
using Messengers.Runtime.Catalog;
using Messengers.Runtime.Hosting;
using Messengers.Testing.Fakes.Telegram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>
/// Webhook mode of the provider against the fake Bot API: the fake delivers to a loopback receiver standing in for
/// the gateway's hook endpoint; the secret lives in a real <see cref="TelegramWebhookGrain"/> on an in-process silo.
/// </summary>
public sealed class TelegramWebhookModeTests : TelegramFakeTestBase
{
    private const string InstanceId = "tg1";
    private readonly string _mediaPath = Path.Combine(Path.GetTempPath(), "tgmedia-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingCallbacks _callbacks = new();
    private readonly LogLines _logs = new();
    private ServiceProvider _services = null!;
    private Silo _silo = null!;
    private ILoggerFactory _loggers = null!;
    private TelegramProvider _provider = null!;
    private WebhookReceiver _receiver = null!;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _receiver = await WebhookReceiver.StartAsync(Ct);
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<ISecretProtector>(new AesGcmSecretProtector(RandomNumberGenerator.GetBytes(32)));
        services.AddSilo(silo => silo.AddGrainsFromAssembly(typeof(TelegramWebhookGrain).Assembly).AddMemoryGrainStorage().AddMemoryStreams());
        _services = services.BuildServiceProvider();
        _silo = _services.GetRequiredService<Silo>();
        await _silo.StartAsync(Ct);
        _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));
        _provider = new TelegramProvider(
            Options.Create(new TelegramOptions { ApiBaseUrl = Fake.BaseUrl.ToString(), PollTimeoutSeconds = 1, MaxRetryDelay = TimeSpan.FromMilliseconds(200) }),
            new FileMediaStore(_mediaPath),
            TimeProvider.System,
            _loggers,
            _silo);
    }

    public override async ValueTask DisposeAsync()
    {
        _provider.Dispose();
        _loggers.Dispose();
        await _silo.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
        await _receiver.DisposeAsync();
        await base.DisposeAsync();
        if (Directory.Exists(_mediaPath))
        {
            Directory.Delete(_mediaPath, recursive: true);
        }
    }

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

        var info = await Client.GetWebhookInfoAsync(Ct);
        Assert.Equal(new Uri(_receiver.BaseUrl, "/hooks/telegram/tg1"), new Uri(info.Url));
        Fake.SendUserMessage(Token, 501, "by webhook");
        var delivery = Assert.Single(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(10)));

        Assert.Equal("/hooks/telegram/tg1", delivery.Path);
        Assert.Contains("by webhook", delivery.Body, StringComparison.Ordinal);
        var webhook = _silo.GetGrain<ITelegramWebhookGrain>(InstanceId);
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

        Assert.Equal("", (await Client.GetWebhookInfoAsync(Ct)).Url);
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
        await Client.SetWebhookAsync("http://127.0.0.1:9/hooks/telegram/tg1", "left-behind", cancellationToken: Ct);
        await using var connection = Connect("");
        await connection.StartAsync(Ct);

        Fake.SendUserMessage(Token, 501, "polled again");
        await WaitUntilAsync(() => !_callbacks.Messages.IsEmpty, 10_000);

        Assert.Equal("polled again", Assert.Single(_callbacks.Messages).Body);
        Assert.Equal("", (await Client.GetWebhookInfoAsync(Ct)).Url);
        Assert.DoesNotContain(_callbacks.Statuses, s => s.Status == InstanceStatus.Disconnected);
    }

    [Fact]
    public async Task Poll_ForeignWebhookActive_ReportsTheConflictAndLeavesIt()
    {
        await Client.SetWebhookAsync("http://127.0.0.1:9/someone-else", cancellationToken: Ct);
        await using var connection = Connect(null);
        await connection.StartAsync(Ct);

        await WaitUntilAsync(() => _callbacks.Statuses.Any(s => s.Status == InstanceStatus.Disconnected));

        Assert.Contains("409 Conflict", _callbacks.Statuses.First(s => s.Status == InstanceStatus.Disconnected).Reason, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:9/someone-else", (await Client.GetWebhookInfoAsync(Ct)).Url);
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
