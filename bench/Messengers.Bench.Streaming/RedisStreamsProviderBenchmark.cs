using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Messengers.Streaming.Redis;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using StackExchange.Redis;

namespace Messengers.Bench.Streaming;

/// <summary>
/// Entries per second through the Orleans Redis Streams provider, end to end (64 producers calling <c>OnNextAsync</c> on
/// 64 chat streams → XADD → pulling agents' XREADGROUP → implicit subscriber grain → XACK) on one silo, against raw XADD
/// through StackExchange.Redis at the same concurrency, on a throwaway local redis-server. Prints figures, asserts nothing.
/// Shaped like bench/Messengers.Bench's IBenchmark (Name, RunAsync) so it can be hooked in there.
/// </summary>
public sealed class RedisStreamsProviderBenchmark(int entries = 100_000)
{
    public const string BenchmarkName = "redis-streams-provider";
    public const string Namespace = "bench";
    private const string Provider = "bench";
    private const int Producers = 64;
    private const int Queues = 8;
    private static readonly TimeSpan PollPeriod = TimeSpan.FromMilliseconds(10);

    public string Name { get; } = BenchmarkName;

    public async Task RunAsync()
    {
        await using var server = await RedisServer.StartAsync();
        var counter = new DeliveryCounter();
        using var host = await StartSiloAsync(server.ConnectionString, counter);
        var client = host.Services.GetRequiredService<IClusterClient>();
        var payload = host.Services.GetRequiredService<Serializer>().SerializeToArray(Sample(0, 0));
        Console.WriteLine($"entries: {entries:N0}, event {payload.Length} bytes serialized, {Producers} concurrent producers on {Producers} streams, {Queues} queues, poll period {PollPeriod.TotalMilliseconds} ms, 1 silo");

        await using (var redis = await ConnectAsync(server.ConnectionString))
        {
            await RawXAddAsync(redis, payload, Math.Min(entries, 20_000)); // warm-up
            var raw = await RawXAddAsync(redis, payload, entries);
            Console.WriteLine($"raw XADD, StackExchange.Redis, {Producers} callers:     {raw,12:N0} entries/s");

            await EndToEndAsync(client, counter, Math.Min(entries, 20_000), "warmup"); // warm-up (JIT, grain activations)
            var (produced, delivered, p50, p99) = await EndToEndAsync(client, counter, entries, "run");
            Console.WriteLine($"provider, producers' OnNextAsync completed:       {produced,12:N0} entries/s");
            Console.WriteLine($"provider, end to end (first send → last delivery): {delivered,12:N0} entries/s");
            Console.WriteLine($"provider, send → consumer latency:                 p50 {p50,8:N1} ms, p99 {p99,8:N1} ms");
            Console.WriteLine($"end to end / raw XADD:                             {delivered / raw,12:P0}");
        }

        await host.StopAsync();
    }

    private static BenchEvent Sample(int producer, int sequence)
        => new("chat-" + producer.ToString(CultureInfo.InvariantCulture), sequence, "a message of moderate length, like a chat text", Stopwatch.GetTimestamp());

    private static async Task<double> RawXAddAsync(ConnectionMultiplexer redis, byte[] payload, int count)
    {
        var database = redis.GetDatabase();
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Producers).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await database.StreamAddAsync("raw:" + (i % Queues).ToString(CultureInfo.InvariantCulture), "b", payload, messageId: null, maxLength: 100_000L, useApproximateMaxLength: true, limit: null, trimMode: StreamTrimMode.KeepReferences);
            }
        }));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task<(double Produced, double Delivered, double P50, double P99)> EndToEndAsync(IClusterClient client, DeliveryCounter counter, int count, string run)
    {
        counter.Reset();
        var provider = client.GetStreamProvider(Provider);
        var perProducer = count / Producers;
        var total = perProducer * Producers;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Producers).Select(async p =>
        {
            var stream = provider.GetStream<BenchEvent>(StreamId.Create(Namespace, $"{run}-{p}"));
            for (var i = 0; i < perProducer; i++)
            {
                await stream.OnNextAsync(Sample(p, i));
            }
        }));
        var produced = total / Stopwatch.GetElapsedTime(start).TotalSeconds;

        var deadline = Stopwatch.StartNew();
        while (counter.Delivered < total && deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(5);
        }

        if (counter.Delivered < total)
        {
            Console.WriteLine($"  ({run}: only {counter.Delivered:N0} of {total:N0} delivered within 2 minutes)");
        }

        var delivered = counter.Delivered / Stopwatch.GetElapsedTime(start, counter.LastDelivery).TotalSeconds;
        return (produced, delivered, counter.Percentile(0.5), counter.Percentile(0.99));
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    private static async Task<IHost> StartSiloAsync(string connectionString, DeliveryCounter counter)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(counter);
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(FreePort(), FreePort())
            .AddRedisStreams(
                Provider,
                options =>
                {
                    options.ConnectionString = connectionString;
                    options.QueueCount = Queues;
                },
                stream =>
                {
                    stream.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
                    stream.ConfigurePullingAgent(pulling => pulling.Configure(o => o.GetQueueMsgsTimerPeriod = PollPeriod));
                }));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
