using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// A real Orleans silo in this process: a plain generic host with <c>UseOrleans</c>, its warnings and errors kept in
/// <see cref="Logs"/>. Dispose stops it gracefully; <see cref="KillAsync"/> drops it without a goodbye, as a crash would.
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    /// <summary>Generous: a loaded machine must not fail a test by being slow.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly IHost _host;
    private bool _gone;

    private TestSilo(IHost host, CapturedLogs logs)
    {
        _host = host;
        Logs = logs;
    }

    public CapturedLogs Logs { get; }

    public IServiceProvider Services => _host.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public SiloAddress Address => Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    /// <summary>
    /// Builds and starts a silo: <paramref name="services"/> first (the database registrations, whose migrations run in
    /// the host's StartingAsync, before the silo starts), then <paramref name="silo"/> for Orleans.
    /// </summary>
    public static async Task<TestSilo> StartAsync(Action<IServiceCollection> services, Action<ISiloBuilder> silo)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(silo);
        var logs = new CapturedLogs();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(logs);
        services(builder.Services);
        builder.UseOrleans(silo);
        builder.Services.AddSingleton<IFatalErrorHandler>(new RecordingFatalErrorHandler(logs));
        var host = builder.Build();
        try
        {
            await host.StartAsync(TestContext.Current.CancellationToken);
        }
        catch (Exception ex)
        {
            await ((IAsyncDisposable)host).DisposeAsync();
            throw new InvalidOperationException($"The silo did not start: {ex.Message}{Environment.NewLine}{logs}", ex);
        }

        return new TestSilo(host, logs);
    }

    /// <summary>Two free loopback ports (silo-to-silo, gateway).</summary>
    public static (int Silo, int Gateway) FreePorts()
    {
        using var first = new TcpListener(IPAddress.Loopback, 0);
        using var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        return (((IPEndPoint)first.LocalEndpoint).Port, ((IPEndPoint)second.LocalEndpoint).Port);
    }

    /// <summary>Graceful stop: the silo leaves the cluster (it writes its own Dead row) and releases its ports.</summary>
    public async Task StopAsync()
    {
        if (_gone)
        {
            return;
        }

        _gone = true;
        try
        {
            using var timeout = new CancellationTokenSource(StopTimeout);
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            await ((IAsyncDisposable)_host).DisposeAsync();
        }
    }

    /// <summary>Drops the silo without stopping it: no membership update, its sockets simply close.</summary>
    public async Task KillAsync()
    {
        if (_gone)
        {
            return;
        }

        _gone = true;
        await ((IAsyncDisposable)_host).DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
