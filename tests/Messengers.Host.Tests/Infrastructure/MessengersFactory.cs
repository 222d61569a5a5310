using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// The host (Program) with the given settings; <c>UseSetting</c> makes them visible to <c>AddMessengers</c> before Build.
/// Each factory's Orleans silo gets loopback ports of its own (<see cref="OrleansTestPorts"/>) unless the settings name
/// them, so hosts of one test process never collide; a restart with the same settings gets new ports.
/// </summary>
public sealed class MessengersFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string?> _own = OrleansTestPorts.With(settings);

    /// <summary>The settings as given (without the ports chosen for this host): what a restart of the same backend uses.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; } = settings;

    public string DataPath => Settings["Messengers:DataPath"]!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Production");
        foreach (var (key, value) in _own)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }
}
