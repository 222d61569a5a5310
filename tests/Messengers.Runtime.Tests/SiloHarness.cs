using Messengers.Runtime.Catalog;
using Messengers.Runtime.Hosting;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Tests;

/// <summary>A started silo with the test grains, memory storage and memory streams.</summary>
public sealed class SiloHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private SiloHarness(ServiceProvider services)
    {
        _services = services;
        Silo = services.GetRequiredService<Silo>();
    }

    public Silo Silo { get; }

    public IGrainFactory Grains => Silo;

    public Probe Probe => _services.GetRequiredService<Probe>();

    public IGrainStorage Storage => _services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);

    public static async Task<SiloHarness> StartAsync(Action<GrainRuntimeOptions>? configure = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<Probe>();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddSilo(silo =>
        {
            silo.AddGrainsFromAssembly(typeof(SiloHarness).Assembly)
                .AddMemoryGrainStorage()
                .AddMemoryStreams();
            if (configure is not null)
            {
                silo.Configure(configure);
            }
        });
        var provider = services.BuildServiceProvider();
        var harness = new SiloHarness(provider);
        await harness.Silo.StartAsync(CancellationToken.None);
        return harness;
    }

    public async ValueTask DisposeAsync()
    {
        await Silo.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }
}
