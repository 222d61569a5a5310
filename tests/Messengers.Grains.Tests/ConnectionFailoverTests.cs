using System.Collections.Concurrent;
using Messengers.Abstractions;
using Messengers.Abstractions.Agents;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Data;
using Messengers.Data.Messages;
using Messengers.Data.Security;
using Messengers.Data.Sqlite;
using Messengers.Grains.Placement;
using Messengers.Testing;
using Messengers.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Messengers.Grains.Tests;

#pragma warning disable xUnit1051 // the analyzer points at the silo handles' stop overloads; the cluster's own Stop/Kill take no token

/// <summary>
/// Connections over three in-process silos: spread evenly, never on a silo that cannot hold their provider, moved off a
/// silo that stops before it is gone, and started again on the survivors when a silo is killed; never two at once.
/// One cluster per test: each changes the topology.
/// </summary>
public sealed class ConnectionFailoverTests : IAsyncLifetime
{
    private const int Instances = 12;
    private const string NoFakeSilo = "no-fake";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-failover-");
    private readonly LiveConnections _live = new();
    private readonly WarningLog _log = new();
    private InProcessTestCluster _cluster = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var database = Path.Combine(_folder.FullName, "messengers.db");
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSiloHost((_, host) => host.Logging.AddProvider(_log));
        builder.ConfigureSilo((options, silo) =>
        {
            silo.Configure<ClusterMembershipOptions>(m =>
            {
                m.ProbeTimeout = TimeSpan.FromSeconds(1);
                m.NumMissedProbesLimit = 2;
                m.NumVotesForDeathDeclaration = 1;
            });
#pragma warning disable ORLEANSEXP003 // the strongly consistent directory the host runs on: no second copy of a connection grain while silos leave
            silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
            silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            silo.AddSqliteGrainStorage(StorageNames.Grains, database);
            silo.AddMemoryGrainStorage(StorageNames.PubSub);
            silo.UseInMemoryReminderService();
            silo.AddMemoryStreams(MessageStreams.Provider, streams => streams.ConfigureStreamPubSub(Orleans.Streams.StreamPubSubType.ImplicitOnly));
            // The fourth silo started by a test cannot hold the fake provider's connections.
            silo.AddConnectionPlacement(options.SiloName.EndsWith('3') ? [FakeProvider.ProviderName] : []);
            var services = silo.Services;
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton<ISecretProtector>(new AesGcmSecretProtector(new byte[32]));
            services.AddSqliteData(database);
            services.AddFileMediaStore(_folder.FullName);
            services.AddSingleton<IMessengerProvider>(_ => new FakeProvider(_live, options.SiloName));
            services.AddSingleton<MessengerProviders>();
            services.AddWebhooks(_ => { }); // the status stream's webhook writer
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        await _cluster.StartAdditionalSiloAsync(); // after the first migrated the shared database
        await _cluster.StartAdditionalSiloAsync();
        await _cluster.WaitForLivenessToStabilizeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Placement_ManyConnectionsAtOnce_SpreadEvenlyOverTheSilos()
    {
        await StartInstancesAsync();

        var bySilo = _live.BySilo();
        Assert.Equal(3, bySilo.Count);
        Assert.All(bySilo.Values, count => Assert.Equal(Instances / 3, count));
    }

    [Fact]
    public async Task Placement_SiloThatCannotHoldTheProvider_NeverGetsItsConnections()
    {
        var silo3 = await _cluster.StartAdditionalSiloAsync(); // named …3: lists the fake provider as unavailable
        await _cluster.WaitForLivenessToStabilizeAsync();

        var ids = await StartInstancesAsync();
        await _cluster.StopSiloAsync(_cluster.Silos[0]); // its connections move: still never to silo 3

        await Eventually.UntilAsync(() => Task.FromResult(_live.Count), c => c == Instances, TimeSpan.FromSeconds(30), "every connection moved");
        Assert.DoesNotContain(silo3.Name, _live.BySilo().Keys);
        Assert.All(ids, id => Assert.Equal(1, _live.MaxAtOnce(id)));
    }

    [Fact]
    public async Task Stop_SiloHoldingConnections_MovesThemBeforeItIsGoneNeverTwoAtOnce()
    {
        var ids = await StartInstancesAsync();
        var leaving = _cluster.Silos[1];
        var held = _live.BySilo()[leaving.Name];
        Assert.True(held > 0);

        await _cluster.StopSiloAsync(leaving);

        // Moved during the stop itself: all live on the two others the moment the stop returns.
        Assert.True(Instances == _live.Count, $"live {_live.Count} of {Instances} when the stop returned (by silo: {string.Join(", ", _live.BySilo())}; {held} were on the stopped one); warnings: {_log}");
        Assert.DoesNotContain(leaving.Name, _live.BySilo().Keys);
        Assert.All(ids, id => Assert.Equal(1, _live.MaxAtOnce(id)));
        Assert.Equal(Instances + held, _live.Starts);
    }

    [Fact]
    public async Task Kill_SiloHoldingConnections_SurvivorsStartThemWithoutAnyoneAsking()
    {
        var ids = await StartInstancesAsync();
        var victim = _cluster.Silos[2];
        _live.Forget(victim.Name); // a killed process's connections die with it

        await _cluster.KillSiloAsync(victim);

        await Eventually.UntilAsync(() => Task.FromResult(_live.Count), c => c == Instances, TimeSpan.FromSeconds(30), "every connection back on a survivor");
        Assert.DoesNotContain(victim.Name, _live.BySilo().Keys);
        foreach (var id in ids)
        {
            Assert.True(await _cluster.Client.GetGrain<IProviderClientGrain>(id).IsConnectedAsync());
            Assert.Equal(InstanceStatus.Ready, (await _cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync())!.Status);
        }
    }

    private async Task<List<string>> StartInstancesAsync()
    {
        var ids = Enumerable.Range(0, Instances).Select(i => $"fo{i:D2}{Guid.NewGuid():N}"[..16]).ToList();
        await Task.WhenAll(ids.Select(id => _cluster.Client.GetGrain<IInstanceGrain>(id).CreateAsync(
            new InstanceDefinition { Name = id, Provider = FakeProvider.ProviderName, Agent = new AgentSettings(), Start = true },
            ApiKeys.Hash("msk_" + id))));
        await Eventually.UntilAsync(() => Task.FromResult(_live.Count), c => c == Instances, TimeSpan.FromSeconds(30), "every connection live");
        return ids;
    }

    /// <summary>Warnings of Messengers' own code in every silo, for failure messages.</summary>
    private sealed class WarningLog : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        public override string ToString() => string.Join(" | ", _lines);

        private sealed class Logger(WarningLog log, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && category.StartsWith("Messengers", StringComparison.Ordinal);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    log._lines.Enqueue($"{category}: {formatter(state, exception)} {exception?.GetType().Name}");
                }
            }
        }
    }

    /// <summary>Every live connection by instance and silo, shared by the silos' providers.</summary>
    private sealed class LiveConnections
    {
        private readonly ConcurrentDictionary<string, string> _silo = new();
        private readonly ConcurrentDictionary<string, int> _atOnce = new();
        private readonly ConcurrentDictionary<string, int> _maxAtOnce = new();
        private int _starts;

        public int Count => _silo.Count;

        public int Starts => _starts;

        public int MaxAtOnce(string id) => _maxAtOnce.GetValueOrDefault(id);

        public Dictionary<string, int> BySilo() => _silo.GroupBy(c => c.Value).ToDictionary(g => g.Key, g => g.Count());

        public void Opened(string id, string silo)
        {
            Interlocked.Increment(ref _starts);
            var now = _atOnce.AddOrUpdate(id, 1, (_, n) => n + 1);
            _maxAtOnce.AddOrUpdate(id, now, (_, max) => Math.Max(max, now));
            _silo[id] = silo;
        }

        public void Closed(string id, string silo)
        {
            _atOnce.AddOrUpdate(id, 0, (_, n) => n - 1);
            _silo.TryRemove(new KeyValuePair<string, string>(id, silo));
        }

        public void Forget(string silo)
        {
            foreach (var (id, where) in _silo)
            {
                if (where == silo)
                {
                    Closed(id, silo);
                }
            }
        }
    }

    private sealed class FakeProvider(LiveConnections live, string silo) : IMessengerProvider
    {
        public const string ProviderName = "fake";

        public string Name => ProviderName;

        public ProviderCapabilities Capabilities => ProviderCapabilities.Text;

        public IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings) => new Dictionary<string, string[]>();

        public bool IsValidChatId(string chatId) => true;

        public IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks) => new Connection(live, silo, config.InstanceId, callbacks);

        private sealed class Connection(LiveConnections live, string silo, string id, IConnectionCallbacks callbacks) : IMessengerConnection
        {
            private int _open;

            public async Task StartAsync(CancellationToken cancellationToken)
            {
                live.Opened(id, silo);
                _open = 1;
                await callbacks.OnStatusAsync(InstanceStatus.Ready, null, new AccountInfo(id, "Fake"));
            }

            public Task StopAsync(CancellationToken cancellationToken)
            {
                Close();
                return Task.CompletedTask;
            }

            public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken) => Task.FromResult(new SendResult("s-" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow));

            public Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken) => Task.CompletedTask;

            public Task<InboundResult> ReceiveAsync(ProviderInbound inbound, CancellationToken cancellationToken) => throw new CapabilityNotSupportedException("input");

            public ValueTask DisposeAsync()
            {
                Close();
                return ValueTask.CompletedTask;
            }

            private void Close()
            {
                if (Interlocked.Exchange(ref _open, 0) == 1)
                {
                    live.Closed(id, silo);
                }
            }
        }
    }
}
