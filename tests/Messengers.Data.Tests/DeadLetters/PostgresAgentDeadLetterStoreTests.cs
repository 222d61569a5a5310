using Messengers.Data.DeadLetters;
using Messengers.Data.Postgres;
using Messengers.Testing;

namespace Messengers.Data.Tests.DeadLetters;

public sealed class PostgresAgentDeadLetterStoreTests(PostgresServer server) : AgentDeadLetterStoreContract, IClassFixture<PostgresServer>, IAsyncLifetime
{
    private PostgresDatabase? _database;
    private PostgresAgentDeadLetterStore? _store;

    protected override IAgentDeadLetterStore Store => _store!;

    public async ValueTask InitializeAsync()
    {
        _database = new PostgresDatabase(await server.CreateDatabaseAsync("deadletters"));
        _store = new PostgresAgentDeadLetterStore(_database);
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
