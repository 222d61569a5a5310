using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Messengers.Bench;

public interface IPingGrain : IGrainWithStringKey
{
    Task<int> PingAsync(int x);
}

/// <summary>A grain with no fields and a method that returns its argument.</summary>
public sealed class PingGrain : Grain, IPingGrain
{
    private static long _activations;

    public PingGrain() => Interlocked.Increment(ref _activations);

    /// <summary>Activations (instances) created in this process so far.</summary>
    public static long Activations => Interlocked.Read(ref _activations);

    public Task<int> PingAsync(int x) => Task.FromResult(x);
}

public interface IStatefulPingGrain : IGrainWithStringKey
{
    Task<int> PingAsync(int x);
}

[GenerateSerializer]
public sealed class EmptyState;

/// <summary>The same trivial grain with an empty persistent state on Orleans' memory grain storage.</summary>
public sealed class StatefulPingGrain([PersistentState("s", OrleansBenchmark.Storage)] IPersistentState<EmptyState> state) : Grain, IStatefulPingGrain
{
    public IPersistentState<EmptyState> State { get; } = state;

    public Task<int> PingAsync(int x) => Task.FromResult(x);
}

/// <summary>
/// Microsoft Orleans in one process, one plain silo (localhost clustering on free loopback ports, memory grain storage,
/// logging at Warning, collection age 1 h): (a) local grain calls per second from outside any grain through the silo's
/// <see cref="IGrainFactory"/>, many concurrent callers over a set of grains and over one hot grain; (b) new
/// activations per second, a trivial call on 200,000 distinct new keys with bounded concurrency; (c) managed bytes per
/// idle activation, 100,000 activations with no state and with an empty persistent state on memory storage, heap growth
/// after full GCs divided by the count. The same measurements the grain runtime's <c>runtime</c> benchmark made before
/// the move to Orleans (bench/README.md keeps its figures).
/// Environment: BENCH_SECONDS (default 3) per call measurement, BENCH_ROUNDS (default 1).
/// </summary>
public sealed class OrleansBenchmark : IBenchmark
{
    public const string Storage = "bench";
    private const int Callers = 256;
    private const int Grains = 1024;
    private const int HotCallers = 64;
    private const int NewActivations = 200_000;
    private const int ActivationConcurrency = 256;
    private const int IdleActivations = 100_000;

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_SECONDS") ?? "3", CultureInfo.InvariantCulture));
    private static readonly int Rounds = int.Parse(Environment.GetEnvironmentVariable("BENCH_ROUNDS") ?? "1", CultureInfo.InvariantCulture);

    public string Name => "orleans";

    public async Task RunAsync()
    {
        Console.WriteLine($"Orleans {typeof(Grain).Assembly.GetName().Version}, one silo in process; calls: {Duration.TotalSeconds:0.#} s per measurement after 1 s warm-up; {Rounds} round(s)");
        for (var round = 1; round <= Rounds; round++)
        {
            using (var host = await StartSiloAsync())
            {
                var grains = host.Services.GetRequiredService<IGrainFactory>();
                var spread = await MeasureCallsAsync(grains, Callers, Grains);
                Console.WriteLine($"round {round}: calls, {Callers} callers over {Grains} grains: {spread:N0} calls/s");
                var hot = await MeasureCallsAsync(grains, HotCallers, 1);
                Console.WriteLine($"round {round}: calls, {HotCallers} callers on 1 grain: {hot:N0} calls/s");
                await host.StopAsync();
            }

            using (var host = await StartSiloAsync())
            {
                var grains = host.Services.GetRequiredService<IGrainFactory>();
                await ActivateAsync<IPingGrain>(grains, "warm", 10_000, ActivationConcurrency); // JIT, thread pool
                var activations = await ActivateAsync<IPingGrain>(grains, $"new{round}-", NewActivations, ActivationConcurrency);
                Console.WriteLine($"round {round}: new activations, {NewActivations:N0} keys, {ActivationConcurrency} in flight: {activations:N0} activations/s");
                await host.StopAsync();
            }

            var plain = await BytesPerActivationAsync<IPingGrain>();
            Console.WriteLine($"round {round}: idle activation, no state: {plain.TotalMemory:N0} bytes (GetTotalMemory), {plain.HeapSize:N0} bytes (GCMemoryInfo.HeapSizeBytes)");
            var stateful = await BytesPerActivationAsync<IStatefulPingGrain>();
            Console.WriteLine($"round {round}: idle activation, empty [PersistentState] on memory storage: {stateful.TotalMemory:N0} bytes (GetTotalMemory), {stateful.HeapSize:N0} bytes (GCMemoryInfo.HeapSizeBytes)");
        }
    }

    /// <summary>Calls per second from <paramref name="callers"/> concurrent loops, each awaiting PingAsync on the grains in turn.</summary>
    private static async Task<double> MeasureCallsAsync(IGrainFactory factory, int callers, int grainCount)
    {
        var grains = Enumerable.Range(0, grainCount).Select(i => factory.GetGrain<IPingGrain>($"g{i}")).ToArray();
        await Task.WhenAll(grains.Select(g => g.PingAsync(0)));
        var phase = 0; // 0 warm-up, 1 measuring, 2 stop
        var counts = new long[callers];
        var loops = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var i = c;
            long count = 0;
            var measuring = false;
            while (true)
            {
                var p = Volatile.Read(ref phase);
                if (p == 2)
                {
                    break;
                }

                if (p == 1 && !measuring)
                {
                    measuring = true;
                    count = 0;
                }

                var result = await grains[i % grainCount].PingAsync(i);
                if (result != i)
                {
                    throw new InvalidOperationException("wrong answer");
                }

                i++;
                count++;
            }

            counts[c] = count;
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(1));
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var gcBefore = GC.CollectionCount(0);
        var watch = Stopwatch.StartNew();
        Volatile.Write(ref phase, 1);
        await Task.Delay(Duration);
        Volatile.Write(ref phase, 2);
        watch.Stop();
        await Task.WhenAll(loops);
        process.Refresh();
        var calls = counts.Sum();
        Console.WriteLine($"  ({calls:N0} calls; per call {(process.TotalProcessorTime - cpuBefore).TotalMicroseconds / calls:0.00} µs CPU, " +
            $"{(GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore) / (double)calls:N0} B allocated; {GC.CollectionCount(0) - gcBefore} gen0 GCs)");
        return calls / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Activations per second: one PingAsync on each of <paramref name="count"/> new keys, <paramref name="concurrency"/> in flight.</summary>
    private static async Task<double> ActivateAsync<TGrain>(IGrainFactory factory, string prefix, int count, int concurrency)
        where TGrain : IGrainWithStringKey
    {
        var before = PingGrain.Activations;
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var grain = factory.GetGrain<TGrain>(prefix + i.ToString(CultureInfo.InvariantCulture));
                var result = grain is IPingGrain ping ? await ping.PingAsync(i) : await ((IStatefulPingGrain)grain).PingAsync(i);
                if (result != i)
                {
                    throw new InvalidOperationException("wrong answer");
                }
            }
        })));
        watch.Stop();
        if (typeof(TGrain) == typeof(IPingGrain) && PingGrain.Activations - before != count)
        {
            throw new InvalidOperationException($"expected {count} new activations, found {PingGrain.Activations - before}");
        }

        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Managed heap growth per activation after full GCs, with <see cref="IdleActivations"/> idle activations.</summary>
    private static async Task<(double TotalMemory, double HeapSize)> BytesPerActivationAsync<TGrain>()
        where TGrain : IGrainWithStringKey
    {
        using var host = await StartSiloAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        await ActivateAsync<TGrain>(grains, "warm", 1_000, 64); // the silo's own lazily built structures
        var before = FullGcHeap();
        await ActivateAsync<TGrain>(grains, "idle", IdleActivations, 64);
        await Task.Delay(200); // let the last turns and their continuations finish
        var after = FullGcHeap();
        GC.KeepAlive(host);
        await host.StopAsync();
        return ((after.TotalMemory - before.TotalMemory) / (double)IdleActivations, (after.HeapSize - before.HeapSize) / (double)IdleActivations);
    }

    /// <summary>After three forced, compacting full collections: GC.GetTotalMemory and the heap size the last full GC reported.</summary>
    private static (long TotalMemory, long HeapSize) FullGcHeap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        var total = GC.GetTotalMemory(forceFullCollection: true);
        return (total, GC.GetGCMemoryInfo(GCKind.FullBlocking).HeapSizeBytes);
    }

    private static async Task<IHost> StartSiloAsync()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(BenchHost.FreePort(), BenchHost.FreePort())
            .AddMemoryGrainStorage(Storage)
            .Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromHours(1)));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
