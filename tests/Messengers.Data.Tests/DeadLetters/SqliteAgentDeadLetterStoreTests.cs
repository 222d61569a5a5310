using Messengers.Data.DeadLetters;
using Messengers.Data.Sqlite;

namespace Messengers.Data.Tests.DeadLetters;

public sealed class SqliteAgentDeadLetterStoreTests : AgentDeadLetterStoreContract, IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-deadletters-");
    private SqliteDatabase? _database;
    private SqliteAgentDeadLetterStore? _store;

    protected override IAgentDeadLetterStore Store => _store!;

    public ValueTask InitializeAsync()
    {
        _database = new SqliteDatabase(Path.Combine(_folder.FullName, "silo.db"), fullSync: false);
        _store = new SqliteAgentDeadLetterStore(_database);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _folder.Delete(recursive: true);
    }
}
