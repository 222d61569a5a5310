using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
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
/// BENCH_CONFIG (default "embedded,postgres": which configurations run; "cluster" compares one silo with two on PostgreSQL + Redis,
/// see WebChatRelayBenchmark.Cluster.cs), BENCH_WARMUP_SECONDS (default 10),
/// BENCH_CLIENT ("raw", the default: <see cref="RawHttpConnection"/> sockets; "httpclient": HttpClient and StreamReader),
/// BENCH_MAX_IN_FLIGHT (default 2000: the open loop sends no more while this many messages await their reply, and
/// counts them as not sent; a saturated gateway otherwise piles up sockets until the process runs out of files or memory).
/// The gateway's silo gets free loopback ports and BENCH_STREAM_POLL_MS / BENCH_HOST_ARGS (<see cref="BenchHost"/>).
/// Every wait is bounded: a reply not seen within <see cref="ReplyTimeout"/> counts as unanswered.
/// </summary>
public sealed partial class WebChatRelayBenchmark : IBenchmark
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_SECONDS") ?? "10", CultureInfo.InvariantCulture));
    private static readonly int Visitors = int.Parse(Environment.GetEnvironmentVariable("BENCH_VISITORS") ?? "200", CultureInfo.InvariantCulture);
    private static readonly int Rate = int.Parse(Environment.GetEnvironmentVariable("BENCH_RATE") ?? "1000", CultureInfo.InvariantCulture);
    private static readonly int MaxInFlight = int.Parse(Environment.GetEnvironmentVariable("BENCH_MAX_IN_FLIGHT") ?? "2000", CultureInfo.InvariantCulture);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_WARMUP_SECONDS") ?? "10", CultureInfo.InvariantCulture));
    private static readonly bool RawClient = (Environment.GetEnvironmentVariable("BENCH_CLIENT") ?? "raw") != "httpclient";
    private static readonly string Configurations = Environment.GetEnvironmentVariable("BENCH_CONFIG") ?? "embedded,postgres";
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

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

        if (Configurations.Contains("postgres", StringComparison.Ordinal))
        {
            await RunOnPostgresAsync();
        }

        if (Configurations.Contains("cluster", StringComparison.Ordinal))
        {
            await RunClusterComparisonAsync();
        }
    }

    /// <summary>PostgreSQL + Redis (throwaway servers), one silo.</summary>
    private static async Task RunOnPostgresAsync()
    {
        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        var redis = await RedisServer.StartAsync();
        ServerCpu.PostgresPort = postgres.Port;
        ServerCpu.RedisPid = redis.ProcessId;
        var data = Directory.CreateTempSubdirectory("messengers-relay-");
        try
        {
            var database = await postgres.CreateDatabaseAsync("relay");
            await RunConfigurationAsync("PostgreSQL + Redis", [.. ProductionArguments(database, redis.ConnectionString), "--Messengers:DataPath=" + data.FullName]);
        }
        finally
        {
            await redis.DisposeAsync();
            await postgres.DisposeAsync();
            data.Delete(recursive: true);
        }
    }

    private const string AdminKey = "bench-admin-key-0123456789";

    private static async Task RunConfigurationAsync(string label, string[] settings)
    {
        const string adminKey = AdminKey;
        var builder = WebApplication.CreateBuilder([.. settings, .. BenchHost.Settings(), "--Messengers:AdminKey=" + adminKey, "--urls=http://127.0.0.1:0"]);
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
        IVisitors visitors = RawClient ? new RawVisitors(new Uri(baseUrl), instanceId) : new HttpClientVisitors(http, instanceId);
        Console.WriteLine($"{label}: load from {(RawClient ? "raw keep-alive sockets" : "HttpClient")} in this process");
        var listeners = Enumerable.Range(0, Visitors).Select(v => visitors.ListenAsync($"v{v}", reply =>
        {
            if (pending.TryRemove(reply, out var waiting))
            {
                waiting.Done.TrySetResult();
            }
        }, stop.Token)).ToList();
        await Task.Delay(500);

        // Warm-up, then closed loop: every visitor sends its next message when the previous reply arrived.
        await ClosedLoopAsync(visitors, pending, WarmUp);
        using var allocations = AllocationSampler.StartIfRequested();
        allocations?.Record(true);
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var serversBefore = ServerCpu.Sample();
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var (count, elapsed, latencies) = await ClosedLoopAsync(visitors, pending, Duration);
        process.Refresh();
        var serversAfter = ServerCpu.Sample();
        var cpuPerMessage = (process.TotalProcessorTime - cpuBefore).TotalMicroseconds / Math.Max(1, count);
        var bytesPerMessage = (GC.GetTotalAllocatedBytes() - allocatedBefore) / Math.Max(1, count);
        Console.WriteLine($"{label}: closed loop, {Visitors} visitors: {count / elapsed.TotalSeconds:N0} messages/s sustained; latency p50 {Percentile(latencies, 0.50):N1} ms, p99 {Percentile(latencies, 0.99):N1} ms; " +
            $"per message (gateway and bench client together, this process only): {cpuPerMessage:N0} µs CPU, {bytesPerMessage:N0} B allocated; " +
            $"servers: PostgreSQL {(serversAfter.Postgres - serversBefore.Postgres).TotalMicroseconds / Math.Max(1, count):N0} µs, Redis {(serversAfter.Redis - serversBefore.Redis).TotalMicroseconds / Math.Max(1, count):N0} µs CPU per message");
        allocations?.Record(false);
        allocations?.Print(label);

        var (openCount, openElapsed, openLatencies, late, shed) = await OpenLoopAsync(visitors, pending, Rate, Duration);
        Console.WriteLine($"{label}: open loop at {Rate}/s offered: {openCount / openElapsed.TotalSeconds:N0} messages/s answered; latency p50 {Percentile(openLatencies, 0.50):N1} ms, p99 {Percentile(openLatencies, 0.99):N1} ms; {late} unanswered after 10 s; {shed} not sent (over {MaxInFlight} awaiting a reply)");

        await stop.CancelAsync();
        await Task.WhenAll(listeners.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
        await app.StopAsync();
    }

    private static async Task<(int Count, TimeSpan Elapsed, List<double> Latencies)> ClosedLoopAsync(
        IVisitors visitors, ConcurrentDictionary<string, (long, TaskCompletionSource)> pending, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<double>();
        var count = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Visitors).Select(async v =>
        {
            var n = 0;
            while (clock.Elapsed < duration)
            {
                if (await TrySendAndWaitAsync(visitors, $"v{v}", $"v{v}-c{n++}-{Guid.NewGuid():N}", pending) is { } ms)
                {
                    latencies.Add(ms);
                    Interlocked.Increment(ref count);
                }
            }
        }));
        return (count, clock.Elapsed, [.. latencies]);
    }

    private static async Task<(int Count, TimeSpan Elapsed, List<double> Latencies, int Late, int Shed)> OpenLoopAsync(
        IVisitors visitors, ConcurrentDictionary<string, (long, TaskCompletionSource)> pending, int rate, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<double>();
        var sends = new List<Task>();
        var late = 0;
        var shed = 0;
        var inFlight = 0;
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

            if (Volatile.Read(ref inFlight) >= MaxInFlight)
            {
                shed++; // saturated: not sent, so that sockets and waiting messages stay bounded
                continue;
            }

            Interlocked.Increment(ref inFlight);
            var visitor = $"v{i % Visitors}";
            var text = $"{visitor}-o{i}-{Guid.NewGuid():N}";
            sends.Add(Task.Run(async () =>
            {
                try
                {
                    if (await TrySendAndWaitAsync(visitors, visitor, text, pending) is { } ms)
                    {
                        latencies.Add(ms);
                    }
                    else
                    {
                        Interlocked.Increment(ref late);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            }));
        }

        await Task.WhenAll(sends);
        return (latencies.Count, clock.Elapsed, [.. latencies], late, shed);
    }

    /// <summary>Posts and waits for the echo on the visitor's event stream: milliseconds, or null when it failed or took over <see cref="ReplyTimeout"/>.</summary>
    private static async Task<double?> TrySendAndWaitAsync(IVisitors visitors, string visitor, string text, ConcurrentDictionary<string, (long Started, TaskCompletionSource Done)> pending)
    {
        var key = "Echo: " + text;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = Stopwatch.GetTimestamp();
        pending[key] = (started, done);
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        try
        {
            await visitors.PostAsync(visitor, text, timeout.Token);
            await done.Task.WaitAsync(timeout.Token);
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        catch (Exception exception) when (exception is OperationCanceledException or HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            pending.TryRemove(key, out _);
            if (!timeout.IsCancellationRequested)
            {
                await Task.Delay(100); // refused (503 while a connection moves): no tight retry loop
            }

            return null;
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

    /// <summary>The visitors' side: posting messages and reading each visitor's event stream for replies.</summary>
    private interface IVisitors
    {
        Task PostAsync(string visitor, string text, CancellationToken cancellationToken);

        /// <summary>Reads the visitor's events until cancelled, calling <paramref name="onReply"/> with the text of every reply.</summary>
        Task ListenAsync(string visitor, Action<string> onReply, CancellationToken cancellationToken);
    }

    private sealed class HttpClientVisitors(HttpClient http, string instanceId) : IVisitors
    {
        public async Task PostAsync(string visitor, string text, CancellationToken cancellationToken)
        {
            using var response = await http.PostAsJsonAsync($"/webchat/{instanceId}/messages", new { visitorId = visitor, text }, cancellationToken);
            response.EnsureSuccessStatusCode();
        }

        public async Task ListenAsync(string visitor, Action<string> onReply, CancellationToken cancellationToken)
        {
            using var response = await http.GetAsync($"/webchat/{instanceId}/events?visitorId={visitor}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal) && ReplyText(Encoding.UTF8.GetBytes(line, 6, line.Length - 6)) is { } reply)
                {
                    onReply(reply);
                }
            }
        }
    }

    /// <summary>Keep-alive sockets from a pool (one per message in flight) and one streaming socket per visitor.</summary>
    private sealed class RawVisitors(Uri server, string instanceId) : IVisitors
    {
        private readonly ConcurrentBag<RawHttpConnection> _idle = [];

        public async Task PostAsync(string visitor, string text, CancellationToken cancellationToken)
        {
            if (!_idle.TryTake(out var connection))
            {
                connection = await RawHttpConnection.ConnectAsync(server, cancellationToken);
            }

            int status;
            try
            {
                status = await connection.PostJsonAsync($"/webchat/{instanceId}/messages", JsonSerializer.Serialize(new { visitorId = visitor, text }), cancellationToken);
            }
            catch
            {
                connection.Dispose(); // its answer may still arrive: not reused
                throw;
            }

            _idle.Add(connection);
            if (status is < 200 or > 299)
            {
                throw new HttpRequestException($"POST answered {status}");
            }
        }

        public async Task ListenAsync(string visitor, Action<string> onReply, CancellationToken cancellationToken)
        {
            using var connection = await RawHttpConnection.ConnectAsync(server, cancellationToken);
            var lines = new SseLines(onReply);
            try
            {
                await connection.GetStreamAsync($"/webchat/{instanceId}/events?visitorId={visitor}", static (data, lines) => lines.Add(data.Span), lines, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // the run is over
            }
        }
    }

    /// <summary>Splits a chunked event stream into lines (a line may span chunks) and reports the replies.</summary>
    private sealed class SseLines(Action<string> onReply)
    {
        private readonly ArrayBufferWriter<byte> _partial = new();

        public void Add(ReadOnlySpan<byte> data)
        {
            int newline;
            while ((newline = data.IndexOf((byte)'\n')) >= 0)
            {
                if (_partial.WrittenCount > 0)
                {
                    _partial.Write(data[..newline]);
                    Line(_partial.WrittenSpan);
                    _partial.ResetWrittenCount();
                }
                else
                {
                    Line(data[..newline]);
                }

                data = data[(newline + 1)..];
            }

            _partial.Write(data);
        }

        private void Line(ReadOnlySpan<byte> line)
        {
            if (line.StartsWith("data: "u8) && ReplyText(line[6..]) is { } reply)
            {
                onReply(reply);
            }
        }
    }

    /// <summary>The text of a reply event (direction "out"); null for anything else. Only replies are parsed.</summary>
    private static string? ReplyText(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf("\"direction\":\"out\""u8) < 0)
        {
            return null;
        }

        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("text"u8) && reader.Read())
            {
                return reader.GetString();
            }
        }

        return null;
    }

    /// <summary>The production configuration's settings: PostgreSQL storage, Redis streams, a fixed encryption key.</summary>
    private static string[] ProductionArguments(string database, string redis) =>
    [
        "--Messengers:Storage=postgres",
        "--Messengers:Streams=redis",
        "--ConnectionStrings:Postgres=" + database,
        "--ConnectionStrings:Redis=" + redis,
        "--Messengers:EncryptionKey=" + Convert.ToBase64String(new byte[32]),
    ];
}
