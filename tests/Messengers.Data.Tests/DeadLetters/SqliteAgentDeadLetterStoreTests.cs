using Messengers.Data.DeadLetters;
using Messengers.Data.Sqlite;

namespace Messengers.Data.Tests.DeadLetters;

public sealed class SqliteAgentDeadLetterStoreTests : AgentDeadLetterStoreContract, IAsyncLifetime
{
    private ScratchSqliteDatabase? _scratch;
    private SqliteAgentDeadLetterStore? _store;

    protected override IAgentDeadLetterStore Store => _store!;

    private SqliteDatabase Database => _scratch!.Database;

    public ValueTask InitializeAsync()
    {
        _scratch = new ScratchSqliteDatabase("messengers-deadletters-");
        _store = new SqliteAgentDeadLetterStore(Database);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _scratch?.DisposeAsync() ?? ValueTask.CompletedTask;
}
