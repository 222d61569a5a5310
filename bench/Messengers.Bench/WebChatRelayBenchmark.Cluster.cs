using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Host.Hosting;
using Messengers.Providers.WebChat;
using Messengers.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace Messengers.Bench;

/// <summary>
/// BENCH_CONFIG=cluster: the relay on one silo, then through two silos of one cluster (both in this process), on the
/// same PostgreSQL and Redis servers (a fresh database each), with the same message counts. With two silos, silo B
/// starts alone and the instance is created there, so its connection grain (where replies are published) lives on B;
/// silo A starts next and takes every visitor's POST and event stream: each message enters on A, is received by the
/// connection on B, and its reply is forwarded back to A. The other grains go where Orleans' placement puts them.
/// Cross-silo messages are counted from Orleans' own metric of messages sent on silo-to-silo connections.
/// On a two-core machine both silos share the same cores: this is the cost of the hops, not scaling.
/// Environment: BENCH_MESSAGES (closed-loop messages per configuration, default 15000), BENCH_CLUSTER_RATE (open-loop
/// messages/s, default 200, low enough for both to keep up), BENCH_ROUNDS (default 1; odd rounds run one silo then two, even rounds two then
/// one), BENCH_SECONDS (open-loop duration), BENCH_VISITORS, BENCH_WARMUP_SECONDS.
/// </summary>
public sealed partial class WebChatRelayBenchmark
{
    private static readonly int ClusterMessages = int.Parse(Environment.GetEnvironmentVariable("BENCH_MESSAGES") ?? "15000", CultureInfo.InvariantCulture);
    private static readonly int ClusterRate = int.Parse(Environment.GetEnvironmentVariable("BENCH_CLUSTER_RATE") ?? "200", CultureInfo.InvariantCulture);
    private static readonly int ClusterRounds = int.Parse(Environment.GetEnvironmentVariable("BENCH_ROUNDS") ?? "1", CultureInfo.InvariantCulture);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    /// <summary>A closed loop that has had no reply for this long stops sending and reports what it has.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    private static readonly Stopwatch RunClock = Stopwatch.StartNew();

    private static async Task RunClusterComparisonAsync()
    {
        Progress("cluster: starting PostgreSQL and Redis");
        var postgres = new PostgresServer();
        await postgres.InitializeAsync().AsTask().WaitAsync(StartTimeout);
        var redis = await RedisServer.StartAsync().WaitAsync(StartTimeout);
        ServerCpu.PostgresPort = postgres.Port;
        ServerCpu.RedisPid = redis.ProcessId;
        using var crossSilo = new CrossSiloMessages();
        try
        {
            List<ClusterRun> ones = [];
            List<ClusterRun> twos = [];
            for (var round = 1; round <= ClusterRounds; round++)
            {
                // Alternating order, so that neither configuration always runs on the freshly started process.
                foreach (var silos in round % 2 == 1 ? new[] { 1, 2 } : [2, 1])
                {
                    var database = await postgres.CreateDatabaseAsync(silos == 1 ? "relay_one" : "relay_two").WaitAsync(StartTimeout);
                    string[] shared = [.. ProductionArguments(database, redis.ConnectionString), "--Messengers:AdminKey=" + AdminKey];
                    (silos == 1 ? ones : twos).Add(await MeasureClusterAsync(silos, shared, crossSilo));
                }

                Progress($"cluster: round {round} of {ClusterRounds} (load average {LoadAverage()})");
                PrintComparison(ones[^1], twos[^1]);
            }

            if (ClusterRounds > 1)
            {
                Progress($"cluster: all {ClusterRounds} rounds pooled (latencies pooled, CPU and throughput over all messages)");
                PrintComparison(ClusterRun.Pool(ones), ClusterRun.Pool(twos));
            }
        }
        finally
        {
            Progress("cluster: stopping PostgreSQL and Redis");
            await redis.DisposeAsync();
            await postgres.DisposeAsync();
        }
    }

    private static async Task<ClusterRun> MeasureClusterAsync(int silos, string[] shared, CrossSiloMessages crossSilo)
    {
        var label = silos == 1 ? "one silo" : "two silos";
        List<(WebApplication App, DirectoryInfo Data)> hosts = [];
        try
        {
            // Two silos: B first and alone, so that the instance's connection can only be placed there.
            if (silos == 2)
            {
                hosts.Add(await StartSiloAsync("bench-b", shared, label));
            }

            var owner = hosts.Count > 0 ? hosts[0].App : null;
            string? instanceId = null;
            if (owner is not null)
            {
                instanceId = await CreateInstanceAsync(owner);
            }

            hosts.Add(await StartSiloAsync("bench-a", shared, label));
            var entry = hosts[^1].App;
            instanceId ??= await CreateInstanceAsync(entry);
            var entryUrl = new Uri(Address(entry));

            var pending = new ConcurrentDictionary<string, (long Started, TaskCompletionSource Done)>();
            using var stop = new CancellationTokenSource();
            IVisitors visitors = new RawVisitors(entryUrl, instanceId);
            var listeners = Enumerable.Range(0, Visitors).Select(v => visitors.ListenAsync($"v{v}", reply =>
            {
                if (pending.TryRemove(reply, out var waiting))
                {
                    waiting.Done.TrySetResult();
                }
            }, stop.Token)).ToList();
            await Task.Delay(1000);

            Progress($"{label}: warm-up, closed loop for {WarmUp.TotalSeconds:N0} s");
            await ClosedLoopAsync(visitors, pending, WarmUp);
            if (owner is not null)
            {
                // The connection publishes on B; B forwards the visitors' events to A.
                Progress($"{label}: silo B forwards the instance's events to {owner.Services.GetRequiredService<WebChatHub>().RemoteListenerCount(instanceId)} other silo(s)");
            }

            // What the silos burn with nothing to relay (queue polling, membership, timers): a second silo adds its own.
            var process = Process.GetCurrentProcess();
            await Task.Delay(TimeSpan.FromSeconds(2));
            process.Refresh();
            var idleBefore = process.TotalProcessorTime;
            var idleClock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(5));
            process.Refresh();
            var idleCores = (process.TotalProcessorTime - idleBefore) / idleClock.Elapsed;
            Progress($"{label}: idle, this process uses {idleCores * 100:N1} % of a core");

            Progress($"{label}: closed loop, {ClusterMessages:N0} messages from {Visitors} visitors");
            var cpuBefore = process.TotalProcessorTime;
            var serversBefore = ServerCpu.Sample();
            var allocatedBefore = GC.GetTotalAllocatedBytes();
            var hopsBefore = crossSilo.Snapshot();
            var closed = await ClosedLoopCountAsync(visitors, pending, ClusterMessages, label);
            var hops = crossSilo.Snapshot() - hopsBefore;
            process.Refresh();
            var serversAfter = ServerCpu.Sample();
            var answered = Math.Max(1, closed.Latencies.Count);
            var run = new ClusterRun(
                label,
                closed,
                (process.TotalProcessorTime - cpuBefore).TotalMicroseconds / answered,
                (serversAfter.Postgres - serversBefore.Postgres).TotalMicroseconds / answered,
                (serversAfter.Redis - serversBefore.Redis).TotalMicroseconds / answered,
                (GC.GetTotalAllocatedBytes() - allocatedBefore) / (double)answered,
                hops.PerMessage(answered))
            {
                IdleCores = idleCores,
            };
            Progress($"{label}: closed loop: {closed.Latencies.Count:N0} answered, {closed.Lost} unanswered in {closed.Elapsed.TotalSeconds:N1} s: {closed.Latencies.Count / closed.Elapsed.TotalSeconds:N0} messages/s; " +
                $"p50 / p95 / p99 {Percentile(closed.Latencies, 0.50):N1} / {Percentile(closed.Latencies, 0.95):N1} / {Percentile(closed.Latencies, 0.99):N1} ms; " +
                $"CPU per message: this process {run.ProcessCpuMicroseconds:N0} µs, PostgreSQL {run.PostgresMicroseconds:N0} µs, Redis {run.RedisMicroseconds:N0} µs; {run.AllocatedBytes:N0} B allocated; " +
                $"cross-silo messages per relayed message: {run.Hops}");
            await PrintPlacementAsync(entry, label);

            Progress($"{label}: open loop, {ClusterRate}/s for {Duration.TotalSeconds:N0} s");
            var (openCount, openElapsed, openLatencies, late, shed) = await OpenLoopAsync(visitors, pending, ClusterRate, Duration);
            run = run with { Open = new OpenResult(openCount / openElapsed.TotalSeconds, openLatencies, late + shed) };
            Progress($"{label}: open loop: {run.Open.Answered:N0} messages/s answered; p50 / p95 / p99 {Percentile(openLatencies, 0.50):N1} / {Percentile(openLatencies, 0.95):N1} / {Percentile(openLatencies, 0.99):N1} ms; {late} unanswered, {shed} not sent");

            await stop.CancelAsync();
            await Task.WhenAll(listeners.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(10));
            return run;
        }
        finally
        {
            // The entry silo first, then the connection's.
            foreach (var (app, data) in Enumerable.Reverse(hosts))
            {
                await StopSiloAsync(app, label);
                data.Delete(recursive: true);
            }
        }
    }

    private static async Task<(WebApplication App, DirectoryInfo Data)> StartSiloAsync(string name, string[] shared, string label)
    {
        Progress($"{label}: starting silo {name}");
        var data = Directory.CreateTempSubdirectory("messengers-relay-");
        var builder = WebApplication.CreateBuilder([.. shared, .. BenchHost.Settings(), "--Messengers:DataPath=" + data.FullName, "--Orleans:Name=" + name, "--urls=http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMessengers();
        var app = builder.Build();
        app.UseMessengers();
        using var timeout = new CancellationTokenSource(StartTimeout);
        await app.StartAsync(timeout.Token).WaitAsync(StartTimeout);
        Progress($"{label}: silo {name} is {app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress}, HTTP {Address(app)}");
        return (app, data);
    }

    private static async Task StopSiloAsync(WebApplication app, string label)
    {
        var silo = app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        try
        {
            using var timeout = new CancellationTokenSource(StopTimeout);
            await app.StopAsync(timeout.Token).WaitAsync(StopTimeout + TimeSpan.FromSeconds(5));
            await app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Progress($"{label}: silo {silo} stopped");
        }
        catch (TimeoutException)
        {
            Progress($"{label}: silo {silo} did not stop in time; going on");
        }
    }

    private static string Address(WebApplication app) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>A web-chat instance with the echo agent, created through this silo's admin API.</summary>
    private static async Task<string> CreateInstanceAsync(WebApplication app)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Address(app)), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
        using var created = await http.PostAsJsonAsync("/api/v1/instances", new
        {
            name = "bench",
            provider = "webchat",
            agent = new { backend = "echo" },
            webChat = new { enabled = true, messagesPerMinute = 1_000_000 },
        });
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>Closed loop for a fixed number of messages; prints progress every 5 s and stops early if replies stall.</summary>
    private static async Task<ClosedResult> ClosedLoopCountAsync(IVisitors visitors, ConcurrentDictionary<string, (long, TaskCompletionSource)> pending, int messages, string label)
    {
        var latencies = new ConcurrentBag<double>();
        var issued = 0;
        var lost = 0;
        var stalled = false;
        var clock = Stopwatch.StartNew();
        var loop = Task.WhenAll(Enumerable.Range(0, Visitors).Select(async v =>
        {
            var n = 0;
            while (!Volatile.Read(ref stalled) && Interlocked.Increment(ref issued) <= messages)
            {
                if (await TrySendAndWaitAsync(visitors, $"v{v}", $"v{v}-m{n++}-{Guid.NewGuid():N}", pending) is { } ms)
                {
                    latencies.Add(ms);
                }
                else
                {
                    Interlocked.Increment(ref lost);
                }
            }
        }));
        var lastCount = 0;
        var lastChange = clock.Elapsed;
        while (await Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(5))) != loop)
        {
            var count = latencies.Count;
            if (count != lastCount)
            {
                (lastCount, lastChange) = (count, clock.Elapsed);
            }
            else if (clock.Elapsed - lastChange > StallTimeout)
            {
                Volatile.Write(ref stalled, true);
                Progress($"{label}: no reply for {StallTimeout.TotalSeconds:N0} s: stopping this loop");
            }

            Progress($"{label}:   {count:N0} / {messages:N0} answered, {Volatile.Read(ref lost)} unanswered, {clock.Elapsed.TotalSeconds:N0} s");
        }

        await loop; // each send gives up after ReplyTimeout, so this ends
        return new ClosedResult(clock.Elapsed, [.. latencies], lost);
    }

    /// <summary>Where the Messengers grains were activated, per silo (IManagementGrain's simple statistics).</summary>
    private static async Task PrintPlacementAsync(WebApplication app, string label)
    {
        try
        {
            var statistics = await app.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics().WaitAsync(TimeSpan.FromSeconds(10));
            foreach (var silo in statistics.Where(s => s.GrainType.Contains("Messengers", StringComparison.Ordinal)).GroupBy(s => s.SiloAddress).OrderBy(g => g.Key.ToString(), StringComparer.Ordinal))
            {
                var grains = string.Join(", ", silo.OrderByDescending(s => s.ActivationCount).Select(s => $"{ShortName(s.GrainType)} {s.ActivationCount}"));
                Progress($"{label}: activations on {silo.Key}: {grains}");
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Progress($"{label}: grain statistics unavailable: {exception.Message}");
        }

        static string ShortName(string type)
        {
            var name = type.Split(',')[0];
            return name[(name.LastIndexOf('.') + 1)..];
        }
    }

    private static void PrintComparison(ClusterRun one, ClusterRun two)
    {
        Console.WriteLine();
        Console.WriteLine("| | one silo | two silos | difference |");
        Console.WriteLine("|---|---:|---:|---:|");
        Row("closed loop: messages answered / unanswered", $"{one.Closed.Latencies.Count:N0} / {one.Closed.Lost}", $"{two.Closed.Latencies.Count:N0} / {two.Closed.Lost}", "");
        Row("closed loop: messages/s", $"{one.Closed.Throughput:N0}", $"{two.Closed.Throughput:N0}", $"{(two.Closed.Throughput / one.Closed.Throughput - 1) * 100:+0;-0} %");
        foreach (var p in new[] { 0.50, 0.95, 0.99 })
        {
            Row($"closed loop: p{p * 100:N0} ms", $"{Percentile(one.Closed.Latencies, p):N1}", $"{Percentile(two.Closed.Latencies, p):N1}", $"{Percentile(two.Closed.Latencies, p) - Percentile(one.Closed.Latencies, p):+0.0;-0.0}");
        }

        Row("idle CPU of this process, % of a core", $"{one.IdleCores * 100:N1}", $"{two.IdleCores * 100:N1}", $"{(two.IdleCores - one.IdleCores) * 100:+0.0;-0.0}");
        Row("CPU µs per message: this process (silos + load client)", $"{one.ProcessCpuMicroseconds:N0}", $"{two.ProcessCpuMicroseconds:N0}", $"{two.ProcessCpuMicroseconds - one.ProcessCpuMicroseconds:+0;-0}");
        Row("CPU µs per message: PostgreSQL + Redis", $"{one.PostgresMicroseconds:N0} + {one.RedisMicroseconds:N0}", $"{two.PostgresMicroseconds:N0} + {two.RedisMicroseconds:N0}", $"{two.PostgresMicroseconds + two.RedisMicroseconds - one.PostgresMicroseconds - one.RedisMicroseconds:+0;-0}");
        Row("CPU µs per message: total", $"{one.TotalCpuMicroseconds:N0}", $"{two.TotalCpuMicroseconds:N0}", $"{two.TotalCpuMicroseconds - one.TotalCpuMicroseconds:+0;-0}");
        Row("allocated KB per message", $"{one.AllocatedBytes / 1024:N1}", $"{two.AllocatedBytes / 1024:N1}", $"{(two.AllocatedBytes - one.AllocatedBytes) / 1024:+0.0;-0.0}");
        Row("cross-silo messages per relayed message", one.Hops.ToString(), two.Hops.ToString(), "");
        Row($"open loop {ClusterRate}/s: answered/s", $"{one.Open!.Answered:N0}", $"{two.Open!.Answered:N0}", "");
        foreach (var p in new[] { 0.50, 0.95, 0.99 })
        {
            Row($"open loop {ClusterRate}/s: p{p * 100:N0} ms", $"{Percentile(one.Open.Latencies, p):N1}", $"{Percentile(two.Open.Latencies, p):N1}", $"{Percentile(two.Open.Latencies, p) - Percentile(one.Open.Latencies, p):+0.0;-0.0}");
        }

        Row($"open loop {ClusterRate}/s: unanswered or not sent", $"{one.Open.Missed}", $"{two.Open.Missed}", "");
        var extraCpu = two.TotalCpuMicroseconds - one.TotalCpuMicroseconds;
        var hops = two.Hops.Total - one.Hops.Total;
        Console.WriteLine();
        Console.WriteLine($"Cross-silo overhead per relayed message: {extraCpu:N0} µs CPU (all processes), {Percentile(two.Open.Latencies, 0.50) - Percentile(one.Open.Latencies, 0.50):N1} ms at the open-loop p50; " +
            (hops > 0 ? $"{two.Hops.Total:N1} silo-to-silo messages, so about {extraCpu / hops:N0} µs CPU per message sent between silos (sender and receiver)." : "no silo-to-silo messages counted."));

        static void Row(string measure, string a, string b, string difference) => Console.WriteLine($"| {measure} | {a} | {b} | {difference} |");
    }

    private static void Progress(string line)
    {
        Console.WriteLine($"[{RunClock.Elapsed:mm\\:ss}] {line}");
        Console.Out.Flush();
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private sealed record ClosedResult(TimeSpan Elapsed, List<double> Latencies, int Lost)
    {
        public double Throughput => Latencies.Count / Elapsed.TotalSeconds;
    }

    private sealed record OpenResult(double Answered, List<double> Latencies, int Missed);

    private sealed record ClusterRun(string Label, ClosedResult Closed, double ProcessCpuMicroseconds, double PostgresMicroseconds, double RedisMicroseconds, double AllocatedBytes, HopsPerMessage Hops)
    {
        public OpenResult? Open { get; init; }

        /// <summary>CPU of this process with no load, in cores.</summary>
        public double IdleCores { get; init; }

        public double TotalCpuMicroseconds => ProcessCpuMicroseconds + PostgresMicroseconds + RedisMicroseconds;

        /// <summary>Several runs as one: latencies pooled, per-message figures weighted by messages answered.</summary>
        public static ClusterRun Pool(IReadOnlyList<ClusterRun> runs)
        {
            double Weighted(Func<ClusterRun, double> value) => runs.Sum(r => value(r) * r.Closed.Latencies.Count) / Math.Max(1, runs.Sum(r => r.Closed.Latencies.Count));
            var closed = new ClosedResult(TimeSpan.FromTicks(runs.Sum(r => r.Closed.Elapsed.Ticks)), [.. runs.SelectMany(r => r.Closed.Latencies)], runs.Sum(r => r.Closed.Lost));
            return new ClusterRun(runs[0].Label, closed, Weighted(r => r.ProcessCpuMicroseconds), Weighted(r => r.PostgresMicroseconds), Weighted(r => r.RedisMicroseconds), Weighted(r => r.AllocatedBytes),
                new HopsPerMessage(Weighted(r => r.Hops.Requests), Weighted(r => r.Hops.OneWays), Weighted(r => r.Hops.Responses)))
            {
                Open = new OpenResult(runs.Average(r => r.Open!.Answered), [.. runs.SelectMany(r => r.Open!.Latencies)], runs.Sum(r => r.Open!.Missed)),
                IdleCores = runs.Average(r => r.IdleCores),
            };
        }
    }

    private readonly record struct HopsPerMessage(double Requests, double OneWays, double Responses)
    {
        public double Total => Requests + OneWays + Responses;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Total:N1} ({Requests:N1} requests, {Responses:N1} responses, {OneWays:N1} one-way)");
    }

    /// <summary>
    /// Messages Orleans sent on silo-to-silo connections (its <c>orleans-messaging-sent-messages-size</c> histogram,
    /// recorded once per message written to another silo), by direction; calls between grains of one silo are not sent.
    /// </summary>
    private sealed class CrossSiloMessages : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private long _requests;
        private long _responses;
        private long _oneWays;

        public CrossSiloMessages()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Microsoft.Orleans" && instrument.Name == "orleans-messaging-sent-messages-size")
                {
                    listener.EnableMeasurementEvents(instrument, this);
                }
            };
            _listener.SetMeasurementEventCallback<int>(static (_, _, tags, state) => ((CrossSiloMessages)state!).Record(tags));
            _listener.Start();
        }

        public Counts Snapshot() => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _responses), Interlocked.Read(ref _oneWays));

        public void Dispose() => _listener.Dispose();

        private void Record(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? connection = null;
            string? direction = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "ConnectionDirection")
                {
                    connection = tag.Value as string;
                }
                else if (tag.Key == "MessageDirection")
                {
                    direction = tag.Value as string;
                }
            }

            if (connection != "SiloToSilo")
            {
                return;
            }

            switch (direction)
            {
                case "Request":
                    Interlocked.Increment(ref _requests);
                    break;
                case "Response":
                    Interlocked.Increment(ref _responses);
                    break;
                case "OneWay":
                    Interlocked.Increment(ref _oneWays);
                    break;
            }
        }

        public readonly record struct Counts(long Requests, long Responses, long OneWays)
        {
            public static Counts operator -(Counts a, Counts b) => new(a.Requests - b.Requests, a.Responses - b.Responses, a.OneWays - b.OneWays);

            public HopsPerMessage PerMessage(int messages) => new(Requests / (double)messages, OneWays / (double)messages, Responses / (double)messages);
        }
    }
}
