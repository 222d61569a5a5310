using Messengers.Data.Migrations;
using Messengers.Data.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.Tests.Migrations;

public sealed class SqliteMigratorTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-sqlite-migrate-");

    private static readonly Migration[] TwoSteps =
    [
        MigrationSet.Parse("001_first.sql", "CREATE TABLE first_table (id INTEGER PRIMARY KEY);"),
        MigrationSet.Parse("002_second.sql", "CREATE TABLE second_table (id INTEGER PRIMARY KEY);\nINSERT INTO second_table VALUES (1);"),
    ];

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder.FullName, "m.db"), Pooling = false, DefaultTimeout = 30 }.ToString();

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task EnsureMigrated_Twice_AppliesEmbeddedMigrationsOnce()
    {
        var path = Path.Combine(_folder.FullName, "silo.db");
        await using (var database = new SqliteDatabase(path))
        {
            await database.EnsureMigratedAsync(TestContext.Current.CancellationToken);
        }

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Assert.Empty(new SqliteMigrator().Run(connection));
        using var command = new SqliteCommand("SELECT count(*) FROM schema_migrations", connection);
        Assert.Equal((long)MigrationSet.For(SqlDialect.Sqlite).Count, (long)command.ExecuteScalar()!);
    }

    [Fact]
    public async Task Run_FiveMigratorsInParallel_EachMigrationAppliedOnce()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(() =>
        {
            using var connection = Open();
            return new SqliteMigrator(TwoSteps).Run(connection);
        }, TestContext.Current.CancellationToken)));

        Assert.Equal([1, 2], results.SelectMany(r => r).Select(m => m.Version).Order());
        using var check = Open();
        using var command = new SqliteCommand("SELECT (SELECT count(*) FROM schema_migrations) * 10 + (SELECT count(*) FROM second_table)", check);
        Assert.Equal(21L, (long)command.ExecuteScalar()!);
    }

    [Fact]
    public void Run_AppliedMigrationEdited_ThrowsChecksumError()
    {
        using var connection = Open();
        new SqliteMigrator(TwoSteps).Run(connection);
        var edited = MigrationSet.Parse("002_second.sql", "CREATE TABLE second_table (id TEXT PRIMARY KEY);");

        var error = Assert.Throws<SchemaMigrationException>(() => new SqliteMigrator([TwoSteps[0], edited]).Run(connection));

        Assert.Contains("sql/sqlite/002_second.sql", error.Message, StringComparison.Ordinal);
        Assert.Contains("must never change", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_FailingMigration_LeavesSchemaUnchanged()
    {
        using var connection = Open();
        var broken = MigrationSet.Parse("002_broken.sql", "CREATE TABLE half_done (id INTEGER);\nSELECT * FROM no_such_table;");

        Assert.Throws<SchemaMigrationException>(() => new SqliteMigrator([TwoSteps[0], broken]).Run(connection));

        using var command = new SqliteCommand("SELECT count(*) FROM sqlite_master WHERE name IN ('first_table', 'half_done', 'schema_migrations')", connection);
        Assert.Equal(0L, (long)command.ExecuteScalar()!);
    }
}
