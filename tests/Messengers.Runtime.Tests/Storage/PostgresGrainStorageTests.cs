using Messengers.Runtime.Storage;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Testing;

namespace Messengers.Runtime.Tests.Storage;

[Collection(PostgresCollection.Name)]
public sealed class PostgresGrainStorageTests(PostgresServer server) : DatabaseGrainStorageTests, IAsyncLifetime
{
    private PostgresDatabase? _database;
    private PostgresGrainStorage? _storage;

    protected override IGrainStorage Storage => _storage!;

    public async ValueTask InitializeAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync("storage"));
        await _database.EnsureMigratedAsync(TestContext.Current.CancellationToken);
        _storage = new PostgresGrainStorage("Default", _database);
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task WriteState_Always_StoresJsonbPayloadWithStateType()
    {
        var grain = new GrainId("sample", Guid.NewGuid().ToString("N"));
        var state = new GrainState<Contracts.SampleState>(new() { Text = "x", Color = Contracts.SampleColor.Green });
        await Storage.WriteStateAsync("s", grain, state, TestContext.Current.CancellationToken);

        await using var command = _database!.DataSource.CreateCommand(
            "SELECT payload->>'color', jsonb_typeof(payload), state_type, etag FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = 's'");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = grain.Type });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = grain.Key });
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal("Green", reader.GetString(0));
        Assert.Equal("object", reader.GetString(1));
        Assert.Equal(typeof(Contracts.SampleState).FullName, reader.GetString(2));
        Assert.Equal(state.ETag, reader.GetString(3));
    }

    [Fact]
    public async Task WriteState_PayloadPostgresRejectsAmongConcurrentWrites_OnlyThatWriteFails()
    {
        // JSONB cannot hold U+0000: PostgreSQL rejects the statement, which aborts the batch it was sent in.
        var bad = new GrainState<Contracts.SampleState>(new() { Text = "nul \0 inside" });
        var grains = Enumerable.Range(0, 20).Select(_ => new GrainId("sample", Guid.NewGuid().ToString("N"))).ToList();
        var good = grains.Select(_ => new GrainState<Contracts.SampleState>(new() { Text = "fine" })).ToList();

        var badWrite = Storage.WriteStateAsync("s", new GrainId("sample", Guid.NewGuid().ToString("N")), bad, TestContext.Current.CancellationToken);
        var goodWrites = grains.Select((g, i) => Storage.WriteStateAsync("s", g, good[i], TestContext.Current.CancellationToken)).ToList();

        var error = await Assert.ThrowsAsync<GrainStorageException>(() => badWrite);
        Assert.Contains("22P05", error.Message, StringComparison.Ordinal);
        await Task.WhenAll(goodWrites);
        Assert.All(good, s => Assert.True(s.RecordExists));
    }
}
