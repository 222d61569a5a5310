using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Host.Hosting;
using Messengers.Testing;
using Messengers.Testing.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Bench;

/// <summary>
/// The agent bridge under load: web-chat visitors (one chat each) send a message, wait for the agent's reply on their
/// event stream, and send the next (closed loop). The agent is an HTTP bot on loopback (real HTTP, the "http" backend)
/// that answers at once, or after a fixed delay. With a slow agent, messages/s grows with the chats in flight, because
/// the bridge runs one call per chat and many chats at once (up to <c>MaxCallsInFlight</c>, 256 by default); one call at
/// a time would give 1/delay messages/s. Embedded configuration (SQLite + memory streams), then PostgreSQL + Redis
/// (throwaway servers; skipped with BENCH_SKIP_PRODUCTION=1).
/// Environment: BENCH_SECONDS (default 10), BENCH_AGENT_DELAY_MS (default 2000), BENCH_CONFIG (default
/// "embedded,postgres": which configurations run; the pre-Orleans bench has only BENCH_SKIP_PRODUCTION).
/// </summary>
public sealed class AgentBridgeBenchmark : IBenchmark
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_SECONDS") ?? "10", CultureInfo.InvariantCulture));
    private static readonly string Configurations = Environment.GetEnvironmentVariable("BENCH_CONFIG") ?? "embedded,postgres";
    private static readonly TimeSpan SlowAgentDelay = TimeSpan.FromMilliseconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_AGENT_DELAY_MS") ?? "2000", CultureInfo.InvariantCulture));

    public string Name => "agent-bridge";

    public async Task RunAsync()
    {
        var agent = new SlowAgent();
        await using var server = await LoopbackHttpServer.StartAsync(agent.AnswerAsync);
        if (Configurations.Contains("embedded", StringComparison.Ordinal))
        {
            var embedded = Directory.CreateTempSubdirectory("messengers-bridge-");
            try
            {
                await RunConfigurationAsync("embedded", agent, server.BaseUrl, ["--Messengers:DataPath=" + embedded.FullName]);
            }
            finally
            {
                embedded.Delete(recursive: true);
            }
        }

        if (Environment.GetEnvironmentVariable("BENCH_SKIP_PRODUCTION") == "1" || !Configurations.Contains("postgres", StringComparison.Ordinal))
        {
            return;
        }

        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        var redis = await RedisServer.StartAsync();
        var data = Directory.CreateTempSubdirectory("messengers-bridge-");
        try
        {
            await RunConfigurationAsync("PostgreSQL + Redis", agent, server.BaseUrl, [
                "--Messengers:DataPath=" + data.FullName,
                "--Messengers:Storage=postgres",
                "--Messengers:Streams=redis",
                "--ConnectionStrings:Postgres=" + await postgres.CreateDatabaseAsync("bridge"),
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

    private static async Task RunConfigurationAsync(string configuration, SlowAgent agent, string agentUrl, string[] settings)
    {
        const string adminKey = "bench-admin-key-0123456789";
        var builder = WebApplication.CreateBuilder([.. settings, .. BenchHost.Settings(), "--Messengers:AdminKey=" + adminKey, "--urls=http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMessengers();
        await using var app = builder.Build();
        app.UseMessengers();
        await app.StartAsync();
        var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2048, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(120) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", adminKey);
        var created = await http.PostAsJsonAsync("/api/v1/instances", new
        {
            name = "bridge bench",
            provider = "webchat",
            agent = new { backend = "http", agentId = "bench-bot", baseUrl = agentUrl + "/bot" },
            webChat = new { enabled = true, messagesPerMinute = 1_000_000 },
        });
        created.EnsureSuccessStatusCode();
        var instanceId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        http.DefaultRequestHeaders.Authorization = null;

        var replies = new ConcurrentDictionary<string, TaskCompletionSource>();
        using var stop = new CancellationTokenSource();
        const int MaxVisitors = 250;
        var listeners = Enumerable.Range(0, MaxVisitors).Select(v => ListenAsync(http, instanceId, $"v{v}", replies, stop.Token)).ToList();
        await Task.Delay(500);

        agent.Delay = TimeSpan.Zero;
        await ClosedLoopAsync(http, instanceId, replies, 50, TimeSpan.FromSeconds(2)); // warm-up
        await ReportAsync($"{configuration}, instant agent", http, instanceId, replies, 200);

        agent.Delay = SlowAgentDelay;
        foreach (var chats in new[] { 1, 10, 100, 250 })
        {
            await ReportAsync($"{configuration}, {SlowAgentDelay.TotalSeconds:0.#} s agent", http, instanceId, replies, chats);
        }

        await stop.CancelAsync();
        await Task.WhenAll(listeners.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
        await app.StopAsync();
    }

    /// <summary>The HTTP bot: replies <c>{"reply":"bot: {text}"}</c> after <see cref="Delay"/>.</summary>
    private sealed class SlowAgent
    {
        public TimeSpan Delay { get; set; }

        public async Task AnswerAsync(HttpContext context)
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var wait = Delay;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            await context.Response.WriteAsJsonAsync(new { reply = "bot: " + body.RootElement.GetProperty("text").GetString() });
        }
    }

    private static async Task ReportAsync(string label, HttpClient http, string instanceId, ConcurrentDictionary<string, TaskCompletionSource> replies, int chats)
    {
        var (count, elapsed, latencies) = await ClosedLoopAsync(http, instanceId, replies, chats, Duration);
        latencies.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label}, {chats} chats in flight: {count / elapsed.TotalSeconds:N1} messages/s answered; latency p50 {Percentile(latencies, 0.50):N0} ms, p99 {Percentile(latencies, 0.99):N0} ms ({count} messages)"));
    }

    /// <summary>Each of <paramref name="chats"/> visitors sends its next message when the previous one was answered.</summary>
    private static async Task<(int Count, TimeSpan Elapsed, List<double> Latencies)> ClosedLoopAsync(
        HttpClient http, string instanceId, ConcurrentDictionary<string, TaskCompletionSource> replies, int chats, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<double>();
        var count = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, chats).Select(async v =>
        {
            while (clock.Elapsed < duration)
            {
                var text = $"v{v}-{Guid.NewGuid():N}";
                var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                replies["bot: " + text] = answered;
                var started = Stopwatch.GetTimestamp();
                using (var response = await http.PostAsJsonAsync($"/webchat/{instanceId}/messages", new { visitorId = $"v{v}", text }))
                {
                    response.EnsureSuccessStatusCode();
                }

                await answered.Task;
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Interlocked.Increment(ref count);
            }
        }));
        return (count, clock.Elapsed, [.. latencies]);
    }

    private static async Task ListenAsync(HttpClient http, string instanceId, string visitor, ConcurrentDictionary<string, TaskCompletionSource> replies, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/webchat/{instanceId}/events?visitorId={visitor}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line.AsMemory(6));
            if (json.RootElement.TryGetProperty("direction", out var direction) && direction.GetString() == "out"
                && replies.TryRemove(json.RootElement.GetProperty("text").GetString()!, out var waiting))
            {
                waiting.TrySetResult();
            }
        }
    }

    private static double Percentile(List<double> sorted, double p)
        => sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
