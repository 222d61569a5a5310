using Messengers.Runtime.Storage;
using Messengers.Runtime.Storage.Sqlite;

namespace Messengers.Runtime.Tests.Storage;

public sealed class SqliteGrainStorageTests : DatabaseGrainStorageTests, IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-sqlite-");
    private SqliteDatabase? _database;
    private SqliteGrainStorage? _storage;

    protected override IGrainStorage Storage => _storage!;

    public async ValueTask InitializeAsync()
    {
        _database = new SqliteDatabase(Path.Combine(_folder.FullName, "data", "silo.db"));
        await _database.EnsureMigratedAsync(TestContext.Current.CancellationToken);
        _storage = new SqliteGrainStorage("Default", _database);
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task Database_AfterMigration_IsInWalMode()
    {
        await using var connection = _database!.OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task WriteState_NewDatabaseInstanceOnSameFile_ReadsWhatWasWritten()
    {
        var grain = new GrainId("sample", Guid.NewGuid().ToString("N"));
        var state = new GrainState<Contracts.SampleState>(new() { Text = "kept" });
        await Storage.WriteStateAsync("s", grain, state, TestContext.Current.CancellationToken);

        await using var reopened = new SqliteDatabase(_database!.DatabasePath);
        var read = new GrainState<Contracts.SampleState>(new());
        await new SqliteGrainStorage("Default", reopened).ReadStateAsync("s", grain, read, TestContext.Current.CancellationToken);
        Assert.Equal("kept", read.State.Text);
        Assert.Equal(state.ETag, read.ETag);
    }

    [Fact]
    public async Task Database_WriteThatThrowsAmongConcurrentWrites_OnlyItFailsAndItsChangesAreUndone()
    {
        var grains = Enumerable.Range(0, 20).Select(_ => new GrainId("sample", Guid.NewGuid().ToString("N"))).ToList();
        var states = grains.Select(_ => new GrainState<Contracts.SampleState>(new())).ToList();
        var writes = grains.Select((g, i) => Storage.WriteStateAsync("s", g, states[i], TestContext.Current.CancellationToken)).ToList();
        var failing = _database!.WriteAsync<int>(context =>
        {
            var insert = context.Command("INSERT INTO grain_state VALUES ('sample', 'undone', 's', 't', '{}', 'e', 'now')");
            insert.ExecuteNonQuery();
            throw new InvalidOperationException("boom");
        }, TestContext.Current.CancellationToken);
        writes.AddRange(grains.Take(5).Select(g => Storage.WriteStateAsync("other", g, new GrainState<Contracts.SampleState>(new()), TestContext.Current.CancellationToken)));

        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        await Task.WhenAll(writes);
        var read = new GrainState<Contracts.SampleState>(new());
        await Storage.ReadStateAsync("s", new GrainId("sample", "undone"), read, TestContext.Current.CancellationToken);
        Assert.False(read.RecordExists);
        Assert.All(states, s => Assert.True(s.RecordExists));
    }
}
