using Messengers.Abstractions;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Agents;
using Messengers.Agents.Turns;
using Messengers.Data;
using Messengers.Data.Messages;
using Messengers.Data.Security;
using Messengers.Grains.Instances;
using Messengers.Grains.Placement;
using Messengers.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.Streams;
using Orleans.TestingHost;

namespace Messengers.Grains.Tests.Infrastructure;

/// <summary>
/// An in-process Orleans cluster (one silo) configured like the embedded host: memory grain storage and streams
/// (implicit subscriptions only, polled every 10 ms), in-memory reminders, the message/webhook/dead-letter stores on a
/// SQLite file of its own, the fake messenger provider and the scripted agent backend. Grain calls go through the
/// cluster's client, so every argument and result crosses a serialization boundary.
/// </summary>
public sealed class GrainsCluster : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-grains-");
    private InProcessTestCluster? _cluster;

    public FakeMessengerProvider Provider { get; } = new(TimeProvider.System);

    public ScriptedAgentBackend Agent { get; } = new();

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    public IClusterClient Client => Cluster.Client;

    /// <summary>A service of the (first) silo, e.g. its message store.</summary>
    public T SiloService<T>() where T : notnull => Cluster.GetSiloServiceProvider().GetRequiredService<T>();

    public async ValueTask InitializeAsync()
    {
        var database = Path.Combine(_folder.FullName, "messengers.db");
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            silo.AddMemoryGrainStorage(StorageNames.Grains);
            silo.AddMemoryGrainStorage(StorageNames.PubSub);
            silo.UseInMemoryReminderService();
            silo.AddConnectionPlacement();
            silo.AddMemoryStreams(MessageStreams.Provider, streams =>
            {
                streams.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
                streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(10)));
            });
            var services = silo.Services;
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton<ISecretProtector>(new AesGcmSecretProtector(new byte[32]));
            services.AddSqliteData(database);
            services.AddFileMediaStore(_folder.FullName);
            services.AddSingleton<IMessengerProvider>(Provider);
            services.AddSingleton<MessengerProviders>();
            services.AddMessageCounter();
            services.AddAgentBackends();
            services.AddSingleton<IAgentBackend>(Agent);
            services.AddAgentTurns(turns =>
            {
                turns.RetryDelay = TimeSpan.FromMilliseconds(100);
                turns.MaxRetryDelay = TimeSpan.FromMilliseconds(200);
                turns.MaxAttempts = 3;
                turns.ShutdownGrace = TimeSpan.FromSeconds(1);
            });
            services.AddWebhooks(webhooks => webhooks.SubscriptionCacheTime = TimeSpan.FromMinutes(10)); // changes reach the writers only by push
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Creates and starts an instance of the fake provider with the scripted agent (or the given agent settings).</summary>
    public async Task<string> CreateInstanceAsync(AgentSettings? agent = null, IReadOnlyDictionary<string, string>? credentials = null)
    {
        var id = "g" + Guid.NewGuid().ToString("N")[..11];
        await Client.GetGrain<IInstanceGrain>(id).CreateAsync(
            new InstanceDefinition
            {
                Name = "Test " + id,
                Provider = FakeMessengerProvider.ProviderName,
                Agent = agent ?? new AgentSettings { Backend = ScriptedAgentBackend.BackendName },
                Credentials = credentials ?? new Dictionary<string, string>(),
            },
            ApiKeys.Hash("msk_" + id + "_key"));
        return id;
    }
}

[CollectionDefinition(Name)]
public sealed class GrainsCollection : ICollectionFixture<GrainsCluster>
{
    public const string Name = "grains";
}
