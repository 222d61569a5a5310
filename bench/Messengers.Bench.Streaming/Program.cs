using System.Globalization;
using Messengers.Bench.Streaming;

var entries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
Console.WriteLine($"== {RedisStreamsProviderBenchmark.BenchmarkName}");
await new RedisStreamsProviderBenchmark(entries).RunAsync();
