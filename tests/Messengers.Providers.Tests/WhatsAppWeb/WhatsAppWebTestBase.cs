using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Data.Messages;
using Messengers.Data.Security;
using Messengers.Providers.Tests.Support;
using Messengers.Providers.WhatsAppWeb;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Orleans.Storage;

namespace Messengers.Providers.Tests.WhatsAppWeb;

/// <summary>
/// Real headless Chromium (Debian's /usr/bin/chromium) against the fake WhatsApp Web page on loopback. Each test gets
/// its own pool; the grain storage (and so the saved sessions) can outlive a pool to simulate a host restart. The grain
/// storage is the embedded host's: Orleans' ADO.NET storage on a SQLite file of the test's own, in an in-process silo.
/// </summary>
public abstract class WhatsAppWebTestBase : IAsyncLifetime
{
    protected const string Chromium = "/usr/bin/chromium";
    protected const string MyWid = "5511999990000@c.us";

    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-wa-");
    private StorageCluster? _silo;
    private FileMediaStore? _media;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected FakeWhatsAppWebServer Fake { get; private set; } = null!;

    /// <summary>The grain storage <c>grains</c> of the test's silo, where sessions and leases are kept.</summary>
    protected IGrainStorage Storage => _silo?.Storage ?? throw new InvalidOperationException("The silo is not started.");

    /// <summary>The SQLite file of the test's silo.</summary>
    protected string DatabaseFile => Path.Combine(_folder.FullName, "messengers.db");

    protected string MediaPath { get; } = Path.Combine(Path.GetTempPath(), "wamedia-" + Guid.NewGuid().ToString("N"));

    protected FileMediaStore Media => _media ??= new FileMediaStore(MediaPath);

    protected GrainStorageWhatsAppSessionStore Sessions { get; private set; } = null!;

    protected BrowserPool Pool { get; private set; } = null!;

    /// <summary>The account leases of the current pool's silo (a new silo with every <see cref="NewPool"/>).</summary>
    protected GrainStorageWhatsAppAccountLeases Leases { get; private set; } = null!;

    protected WhatsAppWebProvider Provider { get; private set; } = null!;

    protected WhatsAppWebOptions Options { get; } = new()
    {
        InjectWaJs = false,
        FirstQrLifetime = TimeSpan.FromSeconds(1.5),
        QrLifetime = TimeSpan.FromSeconds(0.6),
        MaxQrCodes = 3,
        RestartDelay = TimeSpan.FromMilliseconds(100),
        MaxRestartDelay = TimeSpan.FromSeconds(1),
        // Generous: with many browsers of a parallel run on two loaded cores, a page load can take tens of seconds.
        StartTimeout = TimeSpan.FromSeconds(60),
    };

    public virtual async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is missing (apt-get install chromium); the WhatsApp Web tests drive real Chromium.");
        _silo = await StorageCluster.StartAsync(GrainStorageDatabase.Sqlite(DatabaseFile));
        Fake = await FakeWhatsAppWebServer.StartAsync();
        Options.Url = Fake.Url;
        Sessions = new GrainStorageWhatsAppSessionStore(Storage, new AesGcmSecretProtector(RandomNumberGenerator.GetBytes(32)), TimeProvider.System);
        NewPool();
    }

    public virtual async ValueTask DisposeAsync()
    {
        for (var i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }

        if (Pool is not null)
        {
            await Pool.DisposeAsync();
        }

        if (Fake is not null)
        {
            await Fake.DisposeAsync();
        }

        if (Directory.Exists(MediaPath))
        {
            Directory.Delete(MediaPath, recursive: true);
        }

        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The stored bytes of a grain state with string key <paramref name="key"/>, as they lie in the database; null without a row.</summary>
    protected async Task<byte[]?> StoredPayloadAsync(string stateName, string key)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False");
        await connection.OpenAsync(Ct);
        await using var command = new SqliteCommand("SELECT PayloadBinary FROM OrleansStorage WHERE GrainTypeString = $state AND GrainIdExtensionString = $key", connection);
        command.Parameters.AddWithValue("$state", stateName);
        command.Parameters.AddWithValue("$key", key);
        return await command.ExecuteScalarAsync(Ct) as byte[];
    }

    /// <summary>A fresh pool and provider (the old pool stays as it is: dispose it first to simulate a host restart).</summary>
    protected void NewPool()
    {
        Pool = new BrowserPool(Microsoft.Extensions.Options.Options.Create(Options), NullLogger<BrowserPool>.Instance);
        Leases = new GrainStorageWhatsAppAccountLeases(Storage, "silo-" + Guid.NewGuid().ToString("N")[..6], TimeProvider.System);
        Provider = new WhatsAppWebProvider(Pool, Sessions, Leases, Media, Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLoggerFactory.Instance);
    }

    protected WhatsAppWebConnection Connect(RecordingCallbacks callbacks, string instanceId = "wa1")
    {
        var connection = (WhatsAppWebConnection)Provider.Connect(
            new ConnectionConfig(instanceId, WhatsAppWebProvider.ProviderName, new Dictionary<string, string>(), new Dictionary<string, string>(), new AgentSettings()),
            callbacks);
        _disposables.Add(connection);
        return connection;
    }

    /// <summary>Waits until the connection's page is loaded and the bridge subscribed to the stub's events.</summary>
    protected static async Task<IPage> BridgedPageAsync(WhatsAppWebConnection connection, int timeoutMs = 60_000)
    {
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < timeoutMs)
        {
            if (connection.Page is { } page)
            {
                try
                {
                    if (await page.EvaluateAsync<bool>("() => window.__messengersBridged === true"))
                    {
                        return page;
                    }
                }
                catch (PlaywrightException)
                {
                    // navigating or closing
                }
            }

            await Task.Delay(25, Ct);
        }

        throw new TimeoutException("The page was not bridged in time.");
    }

    /// <summary>
    /// A connection that injects the real wa-js bundle into the fake's blank page (no <c>window.WPP</c> of its own), once
    /// <c>WPP.conn</c> is there; skips the test when tests/setup-npm.sh has not installed the bundle. On a loaded
    /// machine (the full suite runs many browsers at once) the bundle's half a megabyte of script can take well over
    /// ten seconds to load and start, hence the long wait.
    /// </summary>
    protected async Task<WhatsAppWebConnection> RealWaJsConnectionAsync()
    {
        var bundle = Path.Combine(AppContext.BaseDirectory, "wa-js", "wppconnect-wa.js");
        Assert.SkipUnless(File.Exists(bundle), $"{bundle} is missing; run tests/setup-npm.sh");
        await Pool.DisposeAsync();
        Options.Url = Fake.BlankUrl;
        Options.InjectWaJs = true;
        Options.WaJsPath = bundle;
        NewPool();
        var connection = Connect(new RecordingCallbacks());
        await connection.StartAsync(Ct);
        await WaitUntilAsync(async () =>
        {
            try
            {
                return connection.Page is { } page && await page.EvaluateAsync<bool>("() => typeof window.WPP === 'object' && !!window.WPP.conn");
            }
            catch (PlaywrightException)
            {
                return false;
            }
        }, 60_000);
        return connection;
    }

    /// <summary>Starts, emits one QR code, scans it and waits for Ready.</summary>
    protected async Task<(WhatsAppWebConnection Connection, IPage Page)> PairedAsync(RecordingCallbacks callbacks, string instanceId = "wa1")
    {
        var connection = Connect(callbacks, instanceId);
        await connection.StartAsync(Ct);
        var page = await BridgedPageAsync(connection);
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.EmitQr, "ref-1,static,identity,secret");
        await WaitUntilAsync(() => callbacks.Qrs.Any(q => q is not null));
        await page.EvaluateAsync(FakeWhatsAppWebServer.Js.Authenticate, MyWid);
        await WaitUntilAsync(() => callbacks.Has(InstanceStatus.Ready));
        return (connection, page);
    }

    protected static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 30_000)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.ElapsedMilliseconds > timeoutMs)
            {
                throw new TimeoutException("The condition was not met in time.");
            }

            await Task.Delay(20, Ct);
        }
    }

    protected static async Task WaitUntilAsync(Func<Task<bool>> condition, int timeoutMs = 30_000)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.ElapsedMilliseconds > timeoutMs)
            {
                throw new TimeoutException("The condition was not met in time.");
            }

            await Task.Delay(20, Ct);
        }
    }

    /// <summary>Records every callback with the time it arrived.</summary>
    protected sealed class RecordingCallbacks : IConnectionCallbacks
    {
        public ConcurrentQueue<(InstanceStatus Status, string? Reason, AccountInfo? Account)> Statuses { get; } = new();

        public ConcurrentQueue<QrCodeInfo?> Qrs { get; } = new();

        public ConcurrentQueue<DateTimeOffset> QrReceivedAt { get; } = new();

        public ConcurrentQueue<InboundMessage> Messages { get; } = new();

        public bool Has(InstanceStatus status) => Statuses.Any(s => s.Status == status);

        public int Count(InstanceStatus status) => Statuses.Count(s => s.Status == status);

        public Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null)
        {
            Statuses.Enqueue((status, reason, account));
            return Task.CompletedTask;
        }

        public Task OnQrAsync(QrCodeInfo? qr)
        {
            QrReceivedAt.Enqueue(TimeProvider.System.GetUtcNow());
            Qrs.Enqueue(qr);
            return Task.CompletedTask;
        }

        public Task OnMessageAsync(InboundMessage message)
        {
            Messages.Enqueue(message);
            return Task.CompletedTask;
        }

        public Task OnAckAsync(string messageId, MessageAck ack) => Task.CompletedTask;
    }
}
