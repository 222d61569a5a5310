using Messengers.Testing;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// Two hosts on one PostgreSQL database and one Redis: one Orleans cluster of two silos, as production runs it. The
/// API key limit is low (<see cref="RequestsPerMinute"/>) so that a test can reach it; the other tests of a class stay
/// well under it.
/// </summary>
public sealed class TwoHostClusterFixture : IAsyncLifetime
{
    public const int RequestsPerMinute = 100;

    private readonly EmbeddedHostFixture _folders = new();
    private readonly PostgresServer _postgres = new();
    private RedisServer? _redis;

    public MessengersFactory HostA { get; private set; } = null!;

    public MessengersFactory HostB { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await _postgres.InitializeAsync();
        _redis = await RedisServer.StartAsync();
        var settings = await _folders.NewBackendAsync();
        settings["Messengers:Storage"] = "postgres";
        settings["Messengers:Streams"] = "redis";
        settings["ConnectionStrings:Postgres"] = await ProductionHostFixture.NewDatabaseAsync(_postgres, "cluster");
        settings["ConnectionStrings:Redis"] = _redis.ConnectionString;
        settings["Messengers:RequestsPerMinute"] = RequestsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
        HostA = Start(settings, "silo-a");
        HostB = Start(settings, "silo-b");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var host in new[] { HostB, HostA })
            {
                if (host is not null)
                {
                    await host.DisposeAsync();
                }
            }
        }
        finally
        {
            if (_redis is not null)
            {
                await _redis.DisposeAsync();
            }

            await _postgres.DisposeAsync();
            await _folders.DisposeAsync();
        }
    }

    private static MessengersFactory Start(Dictionary<string, string?> settings, string siloName)
    {
        var host = new MessengersFactory(new Dictionary<string, string?>(settings) { ["Orleans:Name"] = siloName });
        _ = host.Server;
        return host;
    }
}
