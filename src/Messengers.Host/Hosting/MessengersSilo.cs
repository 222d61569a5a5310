using System.Net;
using Messengers.Abstractions;
using Messengers.Abstractions.Instances;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Messengers.Grains.Placement;
using Messengers.Providers.WhatsAppWeb;
using Messengers.Streaming.Redis;
using Orleans.Configuration;
using Orleans.Metadata;
using Orleans.Storage;
using Orleans.Streams;

namespace Messengers.Host.Hosting;

/// <summary>
/// The Orleans silo of the host, in its two configurations: embedded (localhost clustering, grain state in the SQLite
/// file of the data folder, reminders in memory, memory streams) and production (ADO.NET clustering, grain state and
/// reminders on PostgreSQL, Redis Streams). Cluster settings use Orleans' own section (<c>Orleans:ClusterId</c>,
/// <c>Orleans:ServiceId</c>, <c>Orleans:Name</c>, <c>Orleans:Endpoints:*</c>), which Orleans binds itself; this only
/// fills in what is not set, so that one <c>dotnet run</c> starts with no settings at all.
/// </summary>
public static class MessengersSilo
{
    public const string DefaultClusterId = "messengers";
    public const string DefaultServiceId = "messengers";

    /// <summary>
    /// How often a stream queue is polled; StackExchange.Redis has no blocking reads, so this bounds a message's wait in
    /// its queue. 5 ms keeps a relayed message's p99 under 25 ms at 1,000 messages/s; an idle silo pays for it with
    /// a few percent of a core (measured: 12.7 % of one core idle with Redis streams against 9.4 % at 10 ms).
    /// </summary>
    public static readonly TimeSpan DefaultStreamPollInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>How often silos probe each other; three missed probes make a silo suspect (<c>Orleans:Membership:ProbeTimeout</c>).</summary>
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(3);

    private const string PostgresInvariant = "Npgsql";

    public static void Configure(ISiloBuilder silo, MessengersOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        var orleans = configuration.GetSection("Orleans");
        silo.Services.PostConfigure<ClusterOptions>(cluster =>
        {
            cluster.ClusterId = string.IsNullOrWhiteSpace(cluster.ClusterId) ? DefaultClusterId : cluster.ClusterId;
            cluster.ServiceId = string.IsNullOrWhiteSpace(cluster.ServiceId) ? DefaultServiceId : cluster.ServiceId;
        });
        silo.Configure<EndpointOptions>(endpoints =>
        {
            // Only what the configuration leaves open: loopback and Orleans' usual ports (or the pod's address).
            var configured = orleans.GetSection("Endpoints");
            if (configured["AdvertisedIPAddress"] is null)
            {
                endpoints.AdvertisedIPAddress = Environment.GetEnvironmentVariable("POD_IP") is { } podIp && IPAddress.TryParse(podIp, out var address) ? address : IPAddress.Loopback;
            }

            if (configured["SiloPort"] is null)
            {
                endpoints.SiloPort = EndpointOptions.DEFAULT_SILO_PORT;
            }

            if (configured["GatewayPort"] is null)
            {
                endpoints.GatewayPort = EndpointOptions.DEFAULT_GATEWAY_PORT;
            }
        });
        silo.Configure<GrainCollectionOptions>(collection => configuration.GetSection("Messengers:Grains").Bind(collection));
        silo.Configure<ClusterMembershipOptions>(membership =>
        {
            // A silo that stops answering is declared dead after about three missed probes: ~9-12 s instead of the
            // ~15-20 s of Orleans' 5 s default, so its connections are back on the survivors well within a minute.
            membership.ProbeTimeout = DefaultProbeTimeout;
            orleans.GetSection("Membership").Bind(membership);
        });

        // The default directory is eventually consistent: while a silo joins or leaves, a call can briefly find no
        // entry and activate a second copy of a grain. A connection grain must never have two copies (two pollers of
        // one bot, two logins of one account), so the cluster uses Orleans' strongly consistent directory.
#pragma warning disable ORLEANSEXP003 // experimental in 10.x; it is the directory Orleans' own test clusters run on
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.AddConnectionPlacement(UnavailableProviders(configuration));

        // Asked before Orleans' own providers, which it registered already.
        silo.Services.Insert(0, ServiceDescriptor.Singleton<IGrainInterfaceTypeProvider, CachedGrainInterfaceTypeProvider>());

        // Grain state is stored with Orleans' own serializer: [GenerateSerializer] types with [Id] members, version tolerant.
        silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        silo.AddMemoryGrainStorage(StorageNames.PubSub);
        var pollInterval = configuration.GetValue("Messengers:Streams:PollInterval", DefaultStreamPollInterval);
        switch (options.Storage.ToLowerInvariant())
        {
            case "sqlite":
                var file = Path.Combine(options.DataPath, "messengers.db");
                silo.UseDevelopmentClustering(primarySiloEndpoint: null);
                silo.AddSqliteGrainStorage(StorageNames.Grains, file);
                silo.UseInMemoryReminderService();
                break;
            case "postgres":
                var connection = configuration.GetConnectionString("Postgres")
                    ?? throw new InvalidOperationException("Messengers:Storage is 'postgres' but ConnectionStrings:Postgres is not set.");
                silo.UseAdoNetClustering(clustering =>
                {
                    clustering.Invariant = PostgresInvariant;
                    clustering.ConnectionString = connection;
                });
                silo.AddPostgresGrainStorage(StorageNames.Grains, connection);
                silo.UseAdoNetReminderService(reminders =>
                {
                    reminders.Invariant = PostgresInvariant;
                    reminders.ConnectionString = connection;
                });
                break;
            default:
                throw new InvalidOperationException($"Messengers:Storage must be 'sqlite' or 'postgres', not '{options.Storage}'.");
        }

        switch (options.Streams.ToLowerInvariant())
        {
            case "memory":
                silo.AddMemoryStreams(MessageStreams.Provider, streams => ConfigureStreams(streams, pollInterval));
                break;
            case "redis":
                var redis = configuration.GetConnectionString("Redis")
                    ?? throw new InvalidOperationException("Messengers:Streams is 'redis' but ConnectionStrings:Redis is not set.");
                silo.AddRedisStreams(MessageStreams.Provider, streams => streams.ConnectionString = redis, streams => ConfigureStreams(streams, pollInterval));
                break;
            default:
                throw new InvalidOperationException($"Messengers:Streams must be 'memory' or 'redis', not '{options.Streams}'.");
        }
    }

    /// <summary>
    /// WhatsApp Web needs Chromium: a silo where it is switched off (<c>Messengers:WhatsAppWeb:Enabled</c> false) or
    /// where the browser is missing never gets a WhatsApp Web connection.
    /// </summary>
    private static IEnumerable<string> UnavailableProviders(IConfiguration configuration)
    {
        var whatsAppWeb = new WhatsAppWebOptions();
        configuration.GetSection(WhatsAppWebOptions.Section).Bind(whatsAppWeb);
        if (!whatsAppWeb.Enabled || !File.Exists(whatsAppWeb.ExecutablePath))
        {
            yield return WhatsAppWebProvider.ProviderName;
        }
    }

    /// <summary>
    /// Every consumer of the message path is an implicit subscription (no subscription table to keep), and queues
    /// are polled often enough for a chat to feel instant.
    /// </summary>
    private static void ConfigureStreams(ISiloPersistentStreamConfigurator streams, TimeSpan pollInterval)
    {
        streams.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
        streams.ConfigurePullingAgent(agent => agent.Configure(pulling => pulling.GetQueueMsgsTimerPeriod = pollInterval));
    }
}
