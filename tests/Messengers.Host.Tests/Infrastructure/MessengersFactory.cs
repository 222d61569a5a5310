using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>The host (Program) with the given settings; <c>UseSetting</c> makes them visible to <c>AddMessengers</c> before Build.</summary>
public sealed class MessengersFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    public IReadOnlyDictionary<string, string?> Settings { get; } = settings;

    public string DataPath => Settings["Messengers:DataPath"]!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Production");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }
}
