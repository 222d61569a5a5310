using System.Diagnostics;
using System.Globalization;
using Messengers.Runtime;
using Messengers.Runtime.Catalog;
using Messengers.Runtime.Hosting;
using Messengers.Runtime.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Bench;

public interface IPingGrain : IGrainWithStringKey
{
    Task<int> PingAsync(int x);
}

/// <summary>A grain with no fields and a method that returns its argument.</summary>
public sealed class PingGrain : Grain, IPingGrain
{
    public Task<int> PingAsync(int x) => Task.FromResult(x);
}

public interface IStatefulPingGrain : IGrainWithStringKey
{
    Task<int> PingAsync(int x);
}

public sealed class EmptyState;

/// <summary>The same trivial grain with an empty persistent state on memory storage.</summary>
public sealed class StatefulPingGrain([PersistentState("s")] IPersistentState<EmptyState> state) : Grain, IStatefulPingGrain
{
    public IPersistentState<EmptyState> State { get; } = state;

    public Task<int> PingAsync(int x) => Task.FromResult(x);
}

/// <summary>
/// The grain runtime in one process: (a) local grain calls per second, many concurrent callers over a set of grains
/// and over one hot grain; (b) new activations per second, a trivial call on 200,000 distinct new keys with bounded
/// concurrency; (c) managed bytes per idle activation, 100,000 activations with no state and with an empty
/// persistent state on memory storage, heap growth after a full GC divided by the count.
/// Environment: BENCH_SECONDS (default 3) per call measurement, BENCH_ROUNDS (default 1).
/// </summary>
public sealed class RuntimeBenchmark : IBenchmark
{
    private const int Callers = 256;
    private const int Grains = 1024;
    private const int HotCallers = 64;
    private const int NewActivations = 200_000;
    private const int ActivationConcurrency = 256;
    private const int IdleActivations = 100_000;

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_SECONDS") ?? "3", CultureInfo.InvariantCulture));
    private static readonly int Rounds = int.Parse(Environment.GetEnvironmentVariable("BENCH_ROUNDS") ?? "1", CultureInfo.InvariantCulture);

    public string Name => "runtime";

    public async Task RunAsync()
    {
        Console.WriteLine($"calls: {Duration.TotalSeconds:0.#} s per measurement after 1 s warm-up; {Rounds} round(s)");
        for (var round = 1; round <= Rounds; round++)
        {
            await using (var host = await SiloHost.StartAsync())
            {
                var spread = await MeasureCallsAsync(host.Silo, Callers, Grains);
                Console.WriteLine($"round {round}: calls, {Callers} callers over {Grains} grains: {spread:N0} calls/s");
                var hot = await MeasureCallsAsync(host.Silo, HotCallers, 1);
                Console.WriteLine($"round {round}: calls, {HotCallers} callers on 1 grain: {hot:N0} calls/s");
            }

            await using (var host = await SiloHost.StartAsync())
            {
                await ActivateAsync<IPingGrain>(host.Silo, "warm", 10_000, ActivationConcurrency); // JIT, thread pool
                var activations = await ActivateAsync<IPingGrain>(host.Silo, $"new{round}-", NewActivations, ActivationConcurrency);
                Console.WriteLine($"round {round}: new activations, {NewActivations:N0} keys, {ActivationConcurrency} in flight: {activations:N0} activations/s");
            }

            var plain = await BytesPerActivationAsync<IPingGrain>();
            Console.WriteLine($"round {round}: idle activation, no state: {plain.TotalMemory:N0} bytes (GetTotalMemory), {plain.HeapSize:N0} bytes (GCMemoryInfo.HeapSizeBytes)");
            var stateful = await BytesPerActivationAsync<IStatefulPingGrain>();
            Console.WriteLine($"round {round}: idle activation, empty [PersistentState] on memory storage: {stateful.TotalMemory:N0} bytes (GetTotalMemory), {stateful.HeapSize:N0} bytes (GCMemoryInfo.HeapSizeBytes)");
        }
    }

    /// <summary>Calls per second from <paramref name="callers"/> concurrent loops, each awaiting PingAsync on the grains in turn.</summary>
    private static async Task<double> MeasureCallsAsync(Silo silo, int callers, int grainCount)
    {
        var grains = Enumerable.Range(0, grainCount).Select(i => silo.GetGrain<IPingGrain>($"g{i}")).ToArray();
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
        var process = Process.GetCurrentProcess();
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
    private static async Task<double> ActivateAsync<TGrain>(Silo silo, string prefix, int count, int concurrency)
        where TGrain : IGrainWithStringKey
    {
        var before = silo.ActivationCount;
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var grain = silo.GetGrain<TGrain>(prefix + i.ToString(CultureInfo.InvariantCulture));
                var result = grain is IPingGrain ping ? await ping.PingAsync(i) : await ((IStatefulPingGrain)grain).PingAsync(i);
                if (result != i)
                {
                    throw new InvalidOperationException("wrong answer");
                }
            }
        })));
        watch.Stop();
        if (silo.ActivationCount - before != count)
        {
            throw new InvalidOperationException($"expected {count} new activations, found {silo.ActivationCount - before}");
        }

        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Managed heap growth per activation after a full GC, with <see cref="IdleActivations"/> idle activations.</summary>
    private static async Task<(double TotalMemory, double HeapSize)> BytesPerActivationAsync<TGrain>()
        where TGrain : IGrainWithStringKey
    {
        await using var host = await SiloHost.StartAsync();
        await ActivateAsync<TGrain>(host.Silo, "warm", 1_000, 64); // the silo's own lazily built structures
        var before = FullGcHeap();
        await ActivateAsync<TGrain>(host.Silo, "idle", IdleActivations, 64);
        await Task.Delay(200); // let the last turns and their continuations finish
        var after = FullGcHeap();
        GC.KeepAlive(host);
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

    private sealed class SiloHost : IAsyncDisposable
    {
        private readonly ServiceProvider _services;

        private SiloHost(ServiceProvider services)
        {
            _services = services;
            Silo = services.GetRequiredService<Silo>();
        }

        public Silo Silo { get; }

        public static async Task<SiloHost> StartAsync()
        {
            var services = new ServiceCollection();
            services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
            services.AddSilo(silo => silo
                .AddGrain<PingGrain>()
                .AddGrain<StatefulPingGrain>()
                .AddMemoryGrainStorage()
                .Configure(o => o.CollectionAge = TimeSpan.FromHours(1)));
            var host = new SiloHost(services.BuildServiceProvider());
            await host.Silo.StartAsync(CancellationToken.None);
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            await Silo.StopAsync(CancellationToken.None);
            await _services.DisposeAsync();
        }
    }
}
