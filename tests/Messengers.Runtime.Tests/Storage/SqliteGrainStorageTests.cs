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
}
