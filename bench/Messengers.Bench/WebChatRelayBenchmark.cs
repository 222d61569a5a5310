using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Host.Hosting;
using Messengers.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Bench;

/// <summary>
/// The web-chat relay end to end over real HTTP: visitor POST → stored → inbound stream → agent bridge (echo) →
/// reply sent, stored, published → the visitor's server-sent event stream. Measures sustained messages/s with many
/// visitors sending as fast as replies come back (closed loop), and p50/p99 latency at a fixed offered rate (open
/// loop). Runs the embedded configuration (SQLite + memory streams) and PostgreSQL + Redis (throwaway servers).
/// Environment: BENCH_SECONDS (default 10), BENCH_VISITORS (default 200), BENCH_RATE (default 1000 messages/s),
/// BENCH_CONFIG (default "embedded,postgres": which configurations run).
/// </summary>
public sealed class WebChatRelayBenchmark : IBenchmark
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_SECONDS") ?? "10", CultureInfo.InvariantCulture));
    private static readonly int Visitors = int.Parse(Environment.GetEnvironmentVariable("BENCH_VISITORS") ?? "200", CultureInfo.InvariantCulture);
    private static readonly int Rate = int.Parse(Environment.GetEnvironmentVariable("BENCH_RATE") ?? "1000", CultureInfo.InvariantCulture);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_WARMUP_SECONDS") ?? "10", CultureInfo.InvariantCulture));
    private static readonly string Configurations = Environment.GetEnvironmentVariable("BENCH_CONFIG") ?? "embedded,postgres";

    public string Name => "webchat-relay";

    public async Task RunAsync()
    {
        if (Configurations.Contains("embedded", StringComparison.Ordinal))
        {
            var embeddedData = Directory.CreateTempSubdirectory("messengers-relay-");
            try
            {
                await RunConfigurationAsync("embedded (SQLite + memory streams)", ["--Messengers:DataPath=" + embeddedData.FullName]);
            }
            finally
            {
                embeddedData.Delete(recursive: true);
            }
        }

        if (!Configurations.Contains("postgres", StringComparison.Ordinal))
        {
            return;
        }

        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        var redis = await RedisServer.StartAsync();
        var data = Directory.CreateTempSubdirectory("messengers-relay-");
        try
        {
            var database = await postgres.CreateDatabaseAsync("relay");
            await RunConfigurationAsync("PostgreSQL + Redis", [
                "--Messengers:DataPath=" + data.FullName,
                "--Messengers:Storage=postgres",
                "--Messengers:Streams=redis",
                "--ConnectionStrings:Postgres=" + database,
                "--ConnectionStrings:Redis=" + redis.ConnectionString,
            ]);
        }
        finally
        {
            await redis.DisposeAsync();
            await postgres.DisposeAsync();
            data.Delete(recursive: true);
        }
    }

    private static async Task RunConfigurationAsync(string label, string[] settings)
    {
        const string adminKey = "bench-admin-key-0123456789";
        var builder = WebApplication.CreateBuilder([.. settings, "--Messengers:AdminKey=" + adminKey, "--urls=http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMessengers();
        await using var app = builder.Build();
        app.UseMessengers();
        await app.StartAsync();
        var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        // No client timeout: HttpClient would arm a timer per request, contending with the gateway for the timer lock.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = new Uri(baseUrl), Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new("Bearer", adminKey);
        var created = await http.PostAsJsonAsync("/api/v1/instances", new
        {
            name = "bench",
            provider = "webchat",
            agent = new { backend = "echo" },
            webChat = new { enabled = true, messagesPerMinute = 1_000_000 },
        });
        created.EnsureSuccessStatusCode();
        var instanceId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        http.DefaultRequestHeaders.Authorization = null;

        var pending = new ConcurrentDictionary<string, (long Started, TaskCompletionSource Done)>();
        using var stop = new CancellationTokenSource();
        var listeners = Enumerable.Range(0, Visitors).Select(v => ListenAsync(http, instanceId, $"v{v}", pending, stop.Token)).ToList();
        await Task.Delay(500);

        // Warm-up, then closed loop: every visitor sends its next message when the previous reply arrived.
        await ClosedLoopAsync(http, instanceId, pending, WarmUp);
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var (count, elapsed, latencies) = await ClosedLoopAsync(http, instanceId, pending, Duration);
        process.Refresh();
        var cpuPerMessage = (process.TotalProcessorTime - cpuBefore).TotalMicroseconds / Math.Max(1, count);
        var bytesPerMessage = (GC.GetTotalAllocatedBytes() - allocatedBefore) / Math.Max(1, count);
        Console.WriteLine($"{label}: closed loop, {Visitors} visitors: {count / elapsed.TotalSeconds:N0} messages/s sustained; latency p50 {Percentile(latencies, 0.50):N1} ms, p99 {Percentile(latencies, 0.99):N1} ms; " +
            $"per message (gateway and bench client together, this process only): {cpuPerMessage:N0} µs CPU, {bytesPerMessage:N0} B allocated");

        var (openCount, openElapsed, openLatencies, late) = await OpenLoopAsync(http, instanceId, pending, Rate, Duration);
        Console.WriteLine($"{label}: open loop at {Rate}/s offered: {openCount / openElapsed.TotalSeconds:N0} messages/s answered; latency p50 {Percentile(openLatencies, 0.50):N1} ms, p99 {Percentile(openLatencies, 0.99):N1} ms; {late} unanswered after 10 s");

        await stop.CancelAsync();
        await Task.WhenAll(listeners.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
        await app.StopAsync();
    }

    private static async Task<(int Count, TimeSpan Elapsed, List<double> Latencies)> ClosedLoopAsync(
        HttpClient http, string instanceId, ConcurrentDictionary<string, (long, TaskCompletionSource)> pending, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<double>();
        var count = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Visitors).Select(async v =>
        {
            var n = 0;
            while (clock.Elapsed < duration)
            {
                var ms = await SendAndWaitAsync(http, instanceId, $"v{v}", $"v{v}-c{n++}-{Guid.NewGuid():N}", pending);
                latencies.Add(ms);
                Interlocked.Increment(ref count);
            }
        }));
        return (count, clock.Elapsed, [.. latencies]);
    }

    private static async Task<(int Count, TimeSpan Elapsed, List<double> Latencies, int Late)> OpenLoopAsync(
        HttpClient http, string instanceId, ConcurrentDictionary<string, (long, TaskCompletionSource)> pending, int rate, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<double>();
        var sends = new List<Task>();
        var late = 0;
        var clock = Stopwatch.StartNew();
        var total = (int)(rate * duration.TotalSeconds);
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / (double)rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var visitor = $"v{i % Visitors}";
            sends.Add(Task.Run(async () =>
            {
                try
                {
                    latencies.Add(await SendAndWaitAsync(http, instanceId, visitor, $"{visitor}-o{i}-{Guid.NewGuid():N}", pending).WaitAsync(TimeSpan.FromSeconds(10)));
                }
                catch (TimeoutException)
                {
                    Interlocked.Increment(ref late);
                }
            }));
        }

        await Task.WhenAll(sends);
        return (latencies.Count, clock.Elapsed, [.. latencies], late);
    }

    private static async Task<double> SendAndWaitAsync(HttpClient http, string instanceId, string visitor, string text, ConcurrentDictionary<string, (long Started, TaskCompletionSource Done)> pending)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = Stopwatch.GetTimestamp();
        pending["Echo: " + text] = (started, done);
        using var response = await http.PostAsJsonAsync($"/webchat/{instanceId}/messages", new { visitorId = visitor, text });
        response.EnsureSuccessStatusCode();
        await done.Task;
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static async Task ListenAsync(HttpClient http, string instanceId, string visitor, ConcurrentDictionary<string, (long, TaskCompletionSource Done)> pending, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/webchat/{instanceId}/events?visitorId={visitor}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            // Only replies matter; skipping the visitor's own echo and typing events unparsed keeps the client cheap.
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || !line.Contains("\"direction\":\"out\"", StringComparison.Ordinal))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line.AsMemory(6));
            if (json.RootElement.TryGetProperty("direction", out var direction) && direction.GetString() == "out"
                && pending.TryRemove(json.RootElement.GetProperty("text").GetString()!, out var waiting))
            {
                waiting.Done.TrySetResult();
            }
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[Math.Min(values.Count - 1, (int)(p * values.Count))];
    }
}
