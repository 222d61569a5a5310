using System.Net.Http.Headers;
using Messengers.Testing;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// One host configuration (embedded or production) and one shared host of it per test class. <see cref="NewBackendAsync"/>
/// gives a fresh, empty storage (a data folder, a database) for tests that need their own host, such as restarts.
/// </summary>
public abstract class HostFixture : IAsyncLifetime
{
    public const string AdminKey = "msk_admin_test_0123456789abcdefghijklmnopqrstuv";

    private readonly List<string> _folders = [];

    public MessengersFactory Factory { get; private set; } = null!;

    public abstract string Name { get; }

    /// <summary>Settings of a new, empty backend; the admin key is set unless <paramref name="withAdminKey"/> is false.</summary>
    public async Task<Dictionary<string, string?>> NewBackendAsync(bool withAdminKey = true)
    {
        var folder = Directory.CreateTempSubdirectory("messengers-host-").FullName;
        lock (_folders)
        {
            _folders.Add(folder);
        }

        var settings = new Dictionary<string, string?>
        {
            ["Messengers:DataPath"] = folder,
            ["Orleans:Messaging:ResponseTimeout"] = "00:00:20",
            // Media by URL comes from fakes on 127.0.0.1; production refuses private addresses.
            ["Messengers:MediaDownload:AllowPrivateAddresses"] = "true",
        };
        if (withAdminKey)
        {
            settings["Messengers:AdminKey"] = AdminKey;
        }

        await AddStorageAsync(settings);
        return settings;
    }

    protected abstract Task AddStorageAsync(Dictionary<string, string?> settings);

    public virtual async ValueTask InitializeAsync()
    {
        Factory = new MessengersFactory(await NewBackendAsync());
        _ = Factory.Server; // start now, so the first test does not pay for it
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (Factory is not null)
        {
            await Factory.DisposeAsync();
        }

        GC.SuppressFinalize(this);
        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    public static HttpClient Client(MessengersFactory factory, string? key)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var client = factory.CreateDefaultClient(new ServerErrorGuard());
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }
}

/// <summary>The embedded default: SQLite in a temp data folder, in-memory streams.</summary>
public sealed class EmbeddedHostFixture : HostFixture
{
    public override string Name => "embedded";

    protected override Task AddStorageAsync(Dictionary<string, string?> settings)
    {
        settings["Messengers:Storage"] = "sqlite";
        settings["Messengers:Streams"] = "memory";
        return Task.CompletedTask;
    }
}

/// <summary>Production: PostgreSQL (a new database per backend) and Redis Streams, both throwaway servers on loopback.</summary>
public sealed class ProductionHostFixture : HostFixture
{
    private readonly PostgresServer _postgres = new();
    private readonly List<RedisServer> _redis = [];

    public override string Name => "production";

    protected override async Task AddStorageAsync(Dictionary<string, string?> settings)
    {
        // Each backend gets its own Redis and its own database: hosts on one database form one Orleans cluster
        // (ADO.NET clustering), and hosts of different clusters sharing a Redis would take each other's stream entries.
        var redis = await RedisServer.StartAsync();
        lock (_redis)
        {
            _redis.Add(redis);
        }

        settings["Messengers:Storage"] = "postgres";
        settings["Messengers:Streams"] = "redis";
        settings["ConnectionStrings:Postgres"] = await NewDatabaseAsync(_postgres, "host");
        settings["ConnectionStrings:Redis"] = redis.ConnectionString;
    }

    /// <summary>
    /// A new database on <paramref name="server"/>; the connection that creates it is tried again when it times out
    /// (the first connection to a server started moments ago, on a machine busy with other suites, can take over 5 s).
    /// </summary>
    public static async Task<string> NewDatabaseAsync(PostgresServer server, string prefix)
    {
        ArgumentNullException.ThrowIfNull(server);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await server.CreateDatabaseAsync(prefix);
            }
            catch (Npgsql.NpgsqlException exception) when (attempt < 3 && exception.InnerException is TimeoutException)
            {
            }
        }
    }

    public override async ValueTask InitializeAsync()
    {
        await _postgres.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            // The servers are stopped even when the host's shutdown failed: nothing may outlive the test run.
            foreach (var redis in _redis)
            {
                await redis.DisposeAsync();
            }

            await _postgres.DisposeAsync();
        }
    }
}

/// <summary>Fails the test on any 5xx but the deliberate 503 of an offline chat: the API must never answer a bare 500.</summary>
public sealed class ServerErrorGuard : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if ((int)response.StatusCode >= 500 && response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
        {
            var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync(cancellationToken);
            Assert.Fail($"{request.Method} {request.RequestUri} answered {(int)response.StatusCode}: {body}");
        }

        return response;
    }
}
