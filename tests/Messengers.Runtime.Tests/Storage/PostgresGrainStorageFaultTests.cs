using System.Net.Sockets;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Tests.Contracts;
using Messengers.Testing;

namespace Messengers.Runtime.Tests.Storage;

/// <summary>Stops and starts its own PostgreSQL server, so it does not share one with other classes.</summary>
public sealed class PostgresGrainStorageFaultTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WriteState_ServerStoppedThenStarted_FailsClearlyMeanwhileThenSucceedsWithSameStorage()
    {
        await using var database = new PostgresDatabase(await server.CreateDatabaseAsync("fault"));
        var storage = new PostgresGrainStorage("Default", database);
        var grain = new GrainId("sample", "fault");
        var state = new GrainState<SampleState>(new SampleState { Number = 1 });
        await storage.WriteStateAsync("s", grain, state, Cancel);

        await server.StopAsync();
        try
        {
            state.State.Number = 2;
            var write = await Assert.ThrowsAsync<GrainStorageException>(() => storage.WriteStateAsync("s", grain, state, Cancel));
            Assert.StartsWith("PostgreSQL unreachable: ", write.Message, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{server.Port}", write.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Password", write.Message, StringComparison.OrdinalIgnoreCase);
            Assert.IsNotType<SocketException>(write.InnerException);

            var read = await Assert.ThrowsAsync<GrainStorageException>(() => storage.ReadStateAsync("s", grain, new GrainState<SampleState>(new()), Cancel));
            Assert.StartsWith("PostgreSQL unreachable: ", read.Message, StringComparison.Ordinal);
        }
        finally
        {
            await server.StartAsync();
        }

        state.State.Number = 3;
        await storage.WriteStateAsync("s", grain, state, Cancel);
        var after = new GrainState<SampleState>(new());
        await storage.ReadStateAsync("s", grain, after, Cancel);
        Assert.Equal(3, after.State.Number);
        Assert.Equal(state.ETag, after.ETag);
    }

    [Fact]
    public async Task WriteState_AfterRestartWithIdlePooledConnections_SucceedsWithoutError()
    {
        await using var database = new PostgresDatabase(await server.CreateDatabaseAsync("restart"));
        var storage = new PostgresGrainStorage("Default", database);
        var states = Enumerable.Range(0, 8).Select(_ => new GrainState<SampleState>(new())).ToList();
        // Fill the pool with several idle connections, then kill the server under them.
        await Task.WhenAll(states.Select((s, i) => storage.WriteStateAsync("s", new GrainId("sample", $"restart-{i}"), s, Cancel)));

        await server.RestartAsync();

        await Task.WhenAll(states.Select((s, i) => storage.WriteStateAsync("s", new GrainId("sample", $"restart-{i}"), s, Cancel)));
        Assert.All(states, s => Assert.True(s.RecordExists));
    }
}
