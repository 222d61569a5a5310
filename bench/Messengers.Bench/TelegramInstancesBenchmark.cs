using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Messengers.Abstractions.Instances;
using Messengers.Host.Hosting;
using Messengers.Testing.Fakes.Telegram;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Bench;

/// <summary>
/// Many Telegram bots long-polling one fake Bot API server, in one embedded silo (SQLite + memory streams), agents
/// off so that inbound handling is what is measured. The fake runs in a child process (this program again, with
/// <see cref="FakeRoleVariable"/> set) so that its parked requests do not count towards the gateway's memory.
/// Prints: create+start time until every instance is Ready; memory per stopped and per idle polling instance
/// (managed heap after a full GC, and working set, deltas divided by the instance count); inbound updates/s when
/// every bot gets messages at once; the restart time until every instance is Ready again on the same storage.
/// Environment: BENCH_INSTANCES (default 1000), BENCH_MESSAGES per instance (default 20), BENCH_TELEGRAM_HTTP ("1.1",
/// the default, or "2": the gateway's Bot API calls and the fake speak cleartext HTTP/2).
/// </summary>
public sealed class TelegramInstancesBenchmark : IBenchmark
{
    private const string FakeRoleVariable = "MESSENGERS_BENCH_TELEGRAM_FAKE";
    private const string AdminKey = "bench-admin-key-0123456789";
    private static readonly int Instances = int.Parse(Environment.GetEnvironmentVariable("BENCH_INSTANCES") ?? "1000", CultureInfo.InvariantCulture);
    private static readonly int MessagesPerInstance = int.Parse(Environment.GetEnvironmentVariable("BENCH_MESSAGES") ?? "20", CultureInfo.InvariantCulture);
    private static readonly string HttpVersionSetting = Environment.GetEnvironmentVariable("BENCH_TELEGRAM_HTTP") ?? "1.1";
    private static readonly bool Http2 = HttpVersionSetting == "2";

    public string Name => "telegram-instances";

    private static string TokenOf(int bot) => string.Create(CultureInfo.InvariantCulture, $"{1_000_000 + bot}:AAHbench{bot:D6}TokenForTheFakeBotApiServer");

    public async Task RunAsync()
    {
        if (Environment.GetEnvironmentVariable(FakeRoleVariable) is { } bots)
        {
            await RunFakeAsync(int.Parse(bots, CultureInfo.InvariantCulture));
            return;
        }

        Console.WriteLine($"Bot API over HTTP/{HttpVersionSetting}");
        using var fake = FakeProcess.Start(Instances);
        var fakeUrl = await fake.ReadReadyAsync();
        var data = Directory.CreateTempSubdirectory("messengers-tg-bench-");
        try
        {
            string[] ids;
            await using (var host = await Gateway.StartAsync(data.FullName, fakeUrl))
            {
                var baseline = Memory.Measure();
                ids = await host.CreateInstancesAsync(Instances);
                var stopped = Memory.Measure();
                Console.WriteLine($"memory, a bare parked getUpdates (HttpClient, one shared SocketsHttpHandler, HTTP/{HttpVersionSetting}): {await MeasureBareParkedPollsAsync(fake, fakeUrl)}");

                var clock = Stopwatch.StartNew();
                await host.StartAllAsync(ids);
                await host.WaitAllAsync(ids, i => i.Status == InstanceStatus.Ready);
                var startup = clock.Elapsed;
                await Task.Delay(TimeSpan.FromSeconds(3)); // every poll parked at the fake, nothing in flight
                var parked = await fake.AskAsync("parked");
                var idle = Memory.Measure();

                Console.WriteLine($"start: {Instances} instances Ready in {startup.TotalSeconds:N2} s ({Instances / startup.TotalSeconds:N0} instances/s); {parked} long polls parked at the fake");
                Console.WriteLine($"memory, created and stopped: {stopped.PerInstance(baseline, Instances)}");
                Console.WriteLine($"memory, idle and polling:    {idle.PerInstance(baseline, Instances)}");
                Console.WriteLine($"memory, polling minus stopped (the running connection and its parked poll): {idle.PerInstance(stopped, Instances)}");

                // Starting an instance wakes grains that an idle silo collects later (the instance grain, the status
                // stream's subscribers): what a bot costs once it has been idle for the collection age.
                await host.CollectIdleActivationsAsync();
                await Task.Delay(TimeSpan.FromSeconds(3));
                var settled = Memory.Measure();
                Console.WriteLine($"memory, idle and polling after idle grains are collected: {settled.PerInstance(baseline, Instances)}");

                var total = (long)Instances * MessagesPerInstance;
                clock.Restart();
                await fake.AskAsync($"send {MessagesPerInstance}");
                var injected = clock.Elapsed;
                await host.WaitAllAsync(ids, i => i.Counters.MessagesIn >= MessagesPerInstance);
                var handled = clock.Elapsed;
                Console.WriteLine($"inbound: {total:N0} updates ({MessagesPerInstance} per bot) stored in {handled.TotalSeconds:N2} s = {total / handled.TotalSeconds:N0} updates/s (injecting them took {injected.TotalSeconds:N2} s)");
            }

            var restartedAt = TimeProvider.System.GetUtcNow();
            var restart = Stopwatch.StartNew();
            await using (var host = await Gateway.StartAsync(data.FullName, fakeUrl))
            {
                await host.WaitAllAsync(ids, i => i.Status == InstanceStatus.Ready && i.StatusChangedAt >= restartedAt);
                Console.WriteLine($"restart: host up and {Instances} instances resumed and Ready in {restart.Elapsed.TotalSeconds:N2} s");
            }
        }
        finally
        {
            await fake.QuitAsync();
            data.Delete(recursive: true);
        }
    }

    /// <summary>The floor: what one pending long poll costs with nothing of ours around it.</summary>
    private static async Task<string> MeasureBareParkedPollsAsync(FakeProcess fake, Uri fakeUrl)
    {
        using var client = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true }) { Timeout = Timeout.InfiniteTimeSpan };
        if (Http2)
        {
            client.DefaultRequestVersion = System.Net.HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        using var stop = new CancellationTokenSource();
        var before = Memory.Measure();
        var polls = Enumerable.Range(0, Instances).Select(i => client.GetAsync(new Uri(fakeUrl, $"/bot{TokenOf(i)}/getUpdates?timeout=50"), stop.Token)).ToArray();
        while (await fake.AskAsync("parked") != Instances.ToString(CultureInfo.InvariantCulture))
        {
            await Task.Delay(100);
        }

        var parked = Memory.Measure();
        await stop.CancelAsync();
        await Task.WhenAll(polls.Select(p => p.ContinueWith(_ => { }, TaskScheduler.Default)));
        return parked.PerInstance(before, Instances);
    }

    /// <summary>The child process: the fake with <paramref name="bots"/> bots, driven by lines on stdin.</summary>
    private static async Task RunFakeAsync(int bots)
    {
        await using var fake = await FakeTelegramServer.StartAsync(http2: Http2);
        for (var i = 0; i < bots; i++)
        {
            fake.AddBot(TokenOf(i), $"bench_bot_{i}", $"Bench {i}");
        }

        Console.WriteLine($"READY {fake.BaseUrl}");
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
            var parts = line.Split(' ');
            switch (parts[0])
            {
                case "parked":
                    Console.WriteLine($"ANSWER {Enumerable.Range(0, bots).Count(i => fake.IsLongPollParked(TokenOf(i)))}");
                    break;
                case "send":
                    var rounds = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    var sender = new FakeUser(42, "Load", "load");
                    for (var round = 0; round < rounds; round++)
                    {
                        for (var i = 0; i < bots; i++)
                        {
                            fake.SendUserMessage(TokenOf(i), 42, $"message {round}", sender);
                        }
                    }

                    Console.WriteLine($"ANSWER {rounds * bots}");
                    break;
                default:
                    Console.WriteLine($"ANSWER unknown command {parts[0]}");
                    break;
            }
        }
    }

    private sealed class FakeProcess(Process process) : IDisposable
    {
        public static FakeProcess Start(int bots)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                start.ArgumentList.Add(typeof(TelegramInstancesBenchmark).Assembly.Location);
            }

            start.ArgumentList.Add("telegram-instances");
            start.Environment[FakeRoleVariable] = bots.ToString(CultureInfo.InvariantCulture);
            return new FakeProcess(Process.Start(start)!);
        }

        public async Task<Uri> ReadReadyAsync() => new((await ReadPrefixedAsync("READY ")).Trim());

        public async Task<string> AskAsync(string command)
        {
            await process.StandardInput.WriteLineAsync(command);
            await process.StandardInput.FlushAsync();
            return await ReadPrefixedAsync("ANSWER ");
        }

        public async Task QuitAsync()
        {
            if (!process.HasExited)
            {
                await process.StandardInput.WriteLineAsync("quit");
                await process.StandardInput.FlushAsync();
                await process.WaitForExitAsync();
            }
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
        }

        private async Task<string> ReadPrefixedAsync(string prefix)
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line[prefix.Length..];
                }
            }

            throw new InvalidOperationException("The fake Bot API process ended early.");
        }
    }

    /// <summary>The embedded gateway on a loopback port, its REST API and its grains.</summary>
    private sealed class Gateway(WebApplication app, HttpClient http, IGrainFactory grains) : IAsyncDisposable
    {
        public static async Task<Gateway> StartAsync(string dataPath, Uri fakeUrl)
        {
            var builder = WebApplication.CreateBuilder([
                .. BenchHost.Settings(),
                "--Messengers:DataPath=" + dataPath,
                "--Messengers:AdminKey=" + AdminKey,
                "--Messengers:Telegram:ApiBaseUrl=" + fakeUrl,
                "--Messengers:Telegram:HttpVersion=" + HttpVersionSetting,
                "--Messengers:Grains:CollectionAge=01:00:00",
                "--Messengers:RequestsPerMinute=100000000",
                "--urls=http://127.0.0.1:0",
            ]);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.AddMessengers();
            var app = builder.Build();
            app.UseMessengers();
            await app.StartAsync();
            var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromMinutes(2) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
            return new Gateway(app, http, app.Services.GetRequiredService<IGrainFactory>());
        }

        /// <summary>Creates the instances through the REST API (32 at a time), not started.</summary>
        public async Task<string[]> CreateInstancesAsync(int count)
        {
            var ids = new string[count];
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            {
                using var created = await http.PostAsJsonAsync("/api/v1/instances", new
                {
                    name = $"bot {i}",
                    provider = "telegram",
                    credentials = new { botToken = TokenOf(i) },
                    agent = new { backend = "echo", enabled = false },
                    start = false,
                }, ct);
                created.EnsureSuccessStatusCode();
                ids[i] = (await created.Content.ReadFromJsonAsync<IdOnly>(ct))!.Id;
            });
            return ids;
        }

        /// <summary>Deactivates every activation without work, as the silo does once they pass their collection age.</summary>
        public Task CollectIdleActivationsAsync()
            => grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        public Task StartAllAsync(string[] ids)
            => Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
            {
                using var started = await http.PostAsync($"/api/v1/instances/{id}/start", null, ct);
                started.EnsureSuccessStatusCode();
            });

        public async Task WaitAllAsync(string[] ids, Func<InstanceInfo, bool> done)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                var infos = await Task.WhenAll(ids.Select(id => grains.GetGrain<IInstanceGrain>(id).GetAsync()));
                var missing = infos.Count(i => i is null || !done(i));
                if (missing == 0)
                {
                    return;
                }

                if (deadline.Elapsed > TimeSpan.FromMinutes(5))
                {
                    throw new TimeoutException($"{missing} instances did not get there within 5 minutes; e.g. {infos.First(i => i is null || !done(i))}");
                }

                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }

        private sealed record IdOnly(string Id);
    }

    /// <summary>Live managed objects, GC-committed memory (live objects plus the heap's free space) and the working set.</summary>
    private readonly record struct Memory(long ManagedBytes, long CommittedBytes, long WorkingSetBytes)
    {
        public static Memory Measure()
        {
            for (var i = 0; i < 3; i++)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }

            using var self = Process.GetCurrentProcess();
            return new Memory(GC.GetTotalMemory(forceFullCollection: true), GC.GetGCMemoryInfo().TotalCommittedBytes, self.WorkingSet64);
        }

        public string PerInstance(Memory before, int count)
            => string.Create(CultureInfo.InvariantCulture, $"managed {Kb(ManagedBytes - before.ManagedBytes, count)}, GC committed {Kb(CommittedBytes - before.CommittedBytes, count)}, working set {Kb(WorkingSetBytes - before.WorkingSetBytes, count)} per instance");

        private static string Kb(long bytes, int count) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0 / count:N1} KB");
    }
}
