using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Messengers.Runtime.Redis;
using Messengers.Runtime.Serialization;
using Messengers.Runtime.Streams;
using Messengers.Runtime.Streams.Redis;
using Messengers.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Bench;

/// <summary>
/// Raw XADD throughput (redis-benchmark when installed, and our pipelined client) against our end-to-end path:
/// OnNextAsync → XREADGROUP → handler → XACK, entries per second, on a throwaway redis-server.
/// </summary>
public sealed partial class RedisStreamsBenchmark : IBenchmark
{
    private const int Entries = 200_000;
    private const int Producers = 64;
    private const int Keys = 16;

    public string Name => "redis-streams";

    public async Task RunAsync()
    {
        await using var server = await RedisServer.StartAsync();
        await using var redis = await RedisConnection.ConnectAsync(server.ConnectionString);
        var payload = GrainJson.SerializeToUtf8Bytes(Sample(0));
        Console.WriteLine($"entries: {Entries:N0}, payload {payload.Length} bytes, {Producers} concurrent producers over {Keys} stream ids");

        // The server's ceiling (50 connections × 16 pipelined = 800 commands in flight), and the same concurrency as
        // our producers (64 commands in flight, one per connection).
        var tool = RedisBenchmarkXAdd(server.Port, payload.Length, clients: 50, pipeline: 16);
        var sameConcurrency = RedisBenchmarkXAdd(server.Port, payload.Length, clients: Producers, pipeline: 1);
        if (tool is { } t && sameConcurrency is { } c)
        {
            Console.WriteLine($"raw XADD, redis-benchmark -c 50 -P 16:     {t,12:N0} entries/s");
            Console.WriteLine($"raw XADD, redis-benchmark -c {Producers} -P 1:      {c,12:N0} entries/s");
        }
        else
        {
            Console.WriteLine("raw XADD, redis-benchmark:                 (not installed)");
        }

        await RawXAddAsync(redis, payload, 100_000); // warm-up (lets tiered compilation settle)
        var cpu = CpuMeter.Start(server.ProcessId);
        var raw = await RawXAddAsync(redis, payload, Entries);
        Console.WriteLine($"raw XADD, our client ({Producers} callers, pipelined): {raw,12:N0} entries/s  {cpu.PerEntry(Entries)}");

        await redis.ExecuteAsync("FLUSHALL");
        await EndToEndAsync(redis, "warmup", 100_000);
        await redis.ExecuteAsync("FLUSHALL");
        cpu = CpuMeter.Start(server.ProcessId);
        var e2e = await EndToEndAsync(redis, "bench", Entries);
        Console.WriteLine($"end to end produce → consume → ack:        {e2e,12:N0} entries/s  {cpu.PerEntry(Entries)}");
        Console.WriteLine($"ratio to raw XADD (our client):            {e2e / raw,12:P0}");
        if (tool is { } baseline && sameConcurrency is { } same)
        {
            Console.WriteLine($"ratio to raw XADD (redis-benchmark -P 16): {e2e / baseline,12:P0}");
            Console.WriteLine($"ratio to raw XADD (redis-benchmark -c {Producers}):  {e2e / same,12:P0}");
        }
    }

    private static BenchEvent Sample(int i) => new("chat-" + (i % Keys).ToString(CultureInfo.InvariantCulture), i, "a message of moderate length, like a chat text");

    private static async Task<double> RawXAddAsync(RedisConnection redis, byte[] payload, int count)
    {
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Producers).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await redis.XAddAsync("raw:" + (i % Keys).ToString(CultureInfo.InvariantCulture), "d", payload, maxLength: 100_000);
            }
        }));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> EndToEndAsync(RedisConnection redis, string ns, int count)
    {
        await using var provider = new RedisStreamProvider("bench", redis, new RedisStreamOptions { MaxLength = 1_000_000 }, TimeProvider.System, NullLoggerFactory.Instance);
        var handled = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new StreamSubscriptionOptions { MaxConcurrency = 256, BatchSize = 512 };
        var watch = Stopwatch.StartNew();
        await using (var subscription = await provider.SubscribeAsync<BenchEvent>(ns, "bench", (_, _) =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        }, options))
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, Producers).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var item = Sample(i);
                    await provider.GetStream<BenchEvent>(StreamId.Create(ns, item.Chat)).OnNextAsync(item);
                }
            }));
            await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            while (await provider.UnacknowledgedCountAsync(ns, "bench") > 0)
            {
                await Task.Delay(1);
            }
        }

        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Runs redis-benchmark's XADD (same payload size, MAXLEN ~) and returns requests per second, or null without the tool.</summary>
    private static double? RedisBenchmarkXAdd(int port, int payloadLength, int clients, int pipeline)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(d => Path.Combine(d, "redis-benchmark")).FirstOrDefault(File.Exists);
        if (path is null)
        {
            return null;
        }

        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-n", Entries.ToString(CultureInfo.InvariantCulture),
                     "-c", clients.ToString(CultureInfo.InvariantCulture), "-P", pipeline.ToString(CultureInfo.InvariantCulture), "-q",
                     "-r", Keys.ToString(CultureInfo.InvariantCulture), "XADD", "rb:__rand_int__", "MAXLEN", "~", "100000", "*", "d", new string('x', payloadLength)])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var match = RequestsPerSecond().Matches(output).LastOrDefault();
        return match is null ? null : double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"([0-9.]+) requests per second")]
    private static partial Regex RequestsPerSecond();

    private sealed record BenchEvent(string Chat, int Seq, string Text);

    /// <summary>CPU time used by this process and by redis-server between start and <see cref="PerEntry"/>.</summary>
    private sealed class CpuMeter
    {
        private readonly int _redisPid;
        private readonly TimeSpan _self;
        private readonly TimeSpan _redis;
        private readonly long _allocated;

        private CpuMeter(int redisPid)
        {
            _redisPid = redisPid;
            _self = Process.GetCurrentProcess().TotalProcessorTime;
            _redis = RedisCpu(redisPid);
            _allocated = GC.GetTotalAllocatedBytes(precise: true);
        }

        public static CpuMeter Start(int redisPid) => new(redisPid);

        public string PerEntry(int entries)
        {
            var self = Process.GetCurrentProcess().TotalProcessorTime - _self;
            var redis = RedisCpu(_redisPid) - _redis;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
            return FormattableString.Invariant($"(per entry: .NET {self.TotalMicroseconds / entries:0.0} µs CPU, {allocated / entries:0} B allocated; redis-server {redis.TotalMicroseconds / entries:0.0} µs CPU)");
        }

        private static TimeSpan RedisCpu(int pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                return process.TotalProcessorTime;
            }
            catch (ArgumentException)
            {
                return TimeSpan.Zero;
            }
        }
    }
}
