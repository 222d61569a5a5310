using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Messengers.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace Messengers.Bench;

/// <summary>
/// Grain state writes per second through Orleans' ADO.NET grain storage, as the host configures it (the host's
/// <c>IGrainStorage</c> on a plain silo, state stored with <see cref="OrleansGrainStorageSerializer"/>, the schema
/// created by Messengers.Data's migrations), with 64 concurrent grains each writing its own record over and over with
/// the etag of its previous write, on PostgreSQL and on SQLite (WAL, synchronous=FULL, as the embedded host opens
/// it); against the raw database doing the same work without a storage provider: single-row INSERT + commit per
/// write (PostgreSQL: 64 connections in parallel; SQLite: one connection, since SQLite has one writer, in autocommit).
/// Ours is printed as a ratio of raw. Orleans' storage sends every write as its own command (no batching, unlike the
/// pre-Orleans storage this replaced), so these figures bound how many grain-state writes per second a silo can make.
/// Environment: BENCH_SECONDS (default 5) per measurement, BENCH_ROUNDS (default 2).
/// </summary>
public sealed class StorageBenchmark : IBenchmark
{
    private const int Writers = 64;
    private const string StorageName = "bench";

    public string Name => "storage";

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("BENCH_SECONDS") ?? "5", CultureInfo.InvariantCulture));
    private static readonly int Rounds = int.Parse(Environment.GetEnvironmentVariable("BENCH_ROUNDS") ?? "2", CultureInfo.InvariantCulture);

    public async Task RunAsync()
    {
        var server = new PostgresServer();
        await server.InitializeAsync();
        var folder = Directory.CreateTempSubdirectory("messengers-bench-");
        try
        {
            Console.WriteLine($"{Writers} concurrent writers, {Duration.TotalSeconds:0.#} s per measurement, best of {Rounds} rounds; PostgreSQL 15 on 127.0.0.1 (fsync=off, synchronous_commit=on); SQLite in WAL mode, synchronous=FULL");
            var pairs = new (string Name, Func<int, Task<double>> Ours, Func<int, Task<double>> Raw)[]
            {
                ("PostgreSQL", async _ => await PostgresStorageAsync(await server.CreateDatabaseAsync("ours")), async _ => await PostgresRawAsync(await server.CreateDatabaseAsync("raw"))),
                ("SQLite synchronous=FULL", round => SqliteStorageAsync(Path.Combine(folder.FullName, $"ours-full-{round}.db")), round => Task.FromResult(SqliteRaw(Path.Combine(folder.FullName, $"raw-full-{round}.db"), fullSync: true))),
            };
            var best = pairs.Select(_ => (Ours: 0.0, Raw: 0.0)).ToArray();
            for (var round = 1; round <= Rounds; round++)
            {
                for (var i = 0; i < pairs.Length; i++)
                {
                    var raw = await pairs[i].Raw(round);
                    var ours = await pairs[i].Ours(round);
                    Console.WriteLine($"round {round}: {pairs[i].Name}: raw {raw:N0}/s, Orleans ADO.NET grain storage {ours:N0}/s");
                    best[i] = (Math.Max(best[i].Ours, ours), Math.Max(best[i].Raw, raw));
                }
            }

            for (var i = 0; i < pairs.Length; i++)
            {
                Console.WriteLine($"{pairs[i].Name}: Orleans ADO.NET grain storage {best[i].Ours:N0} writes/s, raw insert+commit {best[i].Raw:N0} writes/s, storage = {best[i].Ours / best[i].Raw:P0} of raw");
            }
        }
        finally
        {
            await server.DisposeAsync();
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    private static string Payload(int writer, long counter)
        => JsonSerializer.Serialize(new BenchState { Owner = $"writer-{writer}", Counter = counter });

    private static async Task<double> MeasureAsync(Func<int, Func<bool>, Task<long>> writer)
    {
        var stopwatch = Stopwatch.StartNew();
        var until = Stopwatch.GetTimestamp() + (long)(Duration.TotalSeconds * Stopwatch.Frequency);
        bool Running() => Stopwatch.GetTimestamp() < until;
        var counts = await Task.WhenAll(Enumerable.Range(0, Writers).Select(i => Task.Run(() => writer(i, Running))));
        return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<double> PostgresStorageAsync(string connectionString)
    {
        await using (var database = new PostgresDatabase(connectionString))
        {
            await database.EnsureMigratedAsync();
        }

        return await OrleansStorageAsync("Npgsql", connectionString);
    }

    private static async Task<double> SqliteStorageAsync(string path)
    {
        await using (var database = new SqliteDatabase(path, fullSync: true))
        {
            await database.EnsureMigratedAsync();
        }

        SqliteConnection.ClearAllPools();
        return await OrleansStorageAsync("System.Data.SQLite", $"Data Source={path}");
    }

    /// <summary>The writers on the grain storage of a plain silo configured as the host configures its own.</summary>
    private static async Task<double> OrleansStorageAsync(string invariant, string connectionString)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(BenchHost.FreePort(), BenchHost.FreePort());
            silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
            silo.AddAdoNetGrainStorage(StorageName, storage =>
            {
                storage.Invariant = invariant;
                storage.ConnectionString = connectionString;
            });
        });
        using var host = builder.Build();
        await host.StartAsync();
        var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(StorageName);
        var result = await MeasureAsync(async (i, running) =>
        {
            var grain = GrainId.Create("bench", i.ToString(CultureInfo.InvariantCulture));
            var value = new BenchState { Owner = $"writer-{i}" };
            var state = new GrainState<BenchState>(value);
            long writes = 0;
            while (running())
            {
                value.Counter++;
                await storage.WriteStateAsync("benchState", grain, state);
                writes++;
            }

            return writes;
        });
        await host.StopAsync();
        return result;
    }

    private static async Task<double> PostgresRawAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var create = dataSource.CreateCommand("CREATE TABLE raw_writes (writer INT NOT NULL, seq BIGINT NOT NULL, payload JSONB NOT NULL, written_at TIMESTAMPTZ NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        return await MeasureAsync(async (i, running) =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO raw_writes (writer, seq, payload, written_at) VALUES ($1, $2, $3, $4)", connection);
            var writer = new NpgsqlParameter<int> { TypedValue = i };
            var seq = new NpgsqlParameter<long>();
            var payload = new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb };
            var at = new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz };
            insert.Parameters.Add(writer);
            insert.Parameters.Add(seq);
            insert.Parameters.Add(payload);
            insert.Parameters.Add(at);
            await insert.PrepareAsync();
            long writes = 0;
            while (running())
            {
                seq.TypedValue = ++writes;
                payload.TypedValue = Payload(i, writes);
                at.TypedValue = TimeProvider.System.GetUtcNow();
                await insert.ExecuteNonQueryAsync(); // autocommit: one transaction per row
            }

            return writes;
        });
    }

    private static double SqliteRaw(string path, bool fullSync)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"""
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = {(fullSync ? "FULL" : "NORMAL")};
                CREATE TABLE raw_writes (writer INTEGER NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL, written_at TEXT NOT NULL);
                """;
            setup.ExecuteNonQuery();
        }

        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO raw_writes (writer, seq, payload, written_at) VALUES ($writer, $seq, $payload, $at)";
        var writer = insert.Parameters.Add("$writer", SqliteType.Integer);
        var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
        var payload = insert.Parameters.Add("$payload", SqliteType.Text);
        var at = insert.Parameters.Add("$at", SqliteType.Text);
        insert.Prepare();
        var gate = new Lock();
        return MeasureAsync((i, running) =>
        {
            long writes = 0;
            while (running())
            {
                writes++;
                var json = Payload(i, writes);
                lock (gate) // one writer connection; each INSERT is its own transaction (autocommit)
                {
                    writer.Value = i;
                    seq.Value = writes;
                    payload.Value = json;
                    at.Value = TimeProvider.System.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
                    insert.ExecuteNonQuery();
                }
            }

            return Task.FromResult(writes);
        }).GetAwaiter().GetResult();
    }
}

/// <summary>A small grain state (~150 bytes), as in the pre-Orleans storage benchmark.</summary>
[GenerateSerializer]
public sealed class BenchState
{
    [Id(0)] public string Owner { get; set; } = "";

    [Id(1)] public long Counter { get; set; }

    [Id(2)] public string Status { get; set; } = "running";

    [Id(3)] public List<string> Recent { get; set; } = ["hello", "how are you?", "fine, thanks"];
}
