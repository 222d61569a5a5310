using Messengers.Data.Migrations;
using Messengers.Testing;
using Npgsql;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Data.Tests.Migrations;

[Collection(PostgresCollection.Name)]
public sealed class PostgresMigratorTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static readonly Migration[] TwoSteps =
    [
        MigrationSet.Parse("001_first.sql", "CREATE TABLE first_table (id INT PRIMARY KEY);"),
        // Slow enough that parallel migrators overlap while it runs.
        MigrationSet.Parse("002_second.sql", "SELECT pg_sleep(0.3);\nCREATE TABLE second_table (id INT PRIMARY KEY);\nINSERT INTO second_table VALUES (1);"),
    ];

    [Fact]
    public async Task Run_Twice_SecondRunAppliesNothing()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("migrate"));
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));

        var first = await new PostgresMigrator(dataSource, null, clock).RunAsync(Cancel);
        var second = await new PostgresMigrator(dataSource, null, clock).RunAsync(Cancel);

        Assert.Equal(MigrationSet.For(SqlDialect.Postgres).Select(m => m.Version), first.Select(m => m.Version));
        Assert.Empty(second);
        await using var command = dataSource.CreateCommand("SELECT version, name, applied_at, checksum FROM schema_migrations ORDER BY version");
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel));
        Assert.Equal(1, reader.GetInt32(0));
        Assert.Equal("grain_state", reader.GetString(1));
        Assert.Equal(clock.GetUtcNow(), reader.GetFieldValue<DateTimeOffset>(2));
        Assert.Equal(MigrationSet.For(SqlDialect.Postgres)[0].Checksum, reader.GetString(3));
    }

    [Fact]
    public async Task Run_FiveMigratorsInParallel_AllSucceedAndEachMigrationAppliedOnce()
    {
        var connectionString = await server.CreateDatabaseAsync("parallel");
        var dataSources = Enumerable.Range(0, 5).Select(_ => NpgsqlDataSource.Create(connectionString)).ToList();
        try
        {
            var results = await Task.WhenAll(dataSources.Select(ds => Task.Run(() => new PostgresMigrator(ds, TwoSteps).RunAsync(Cancel))));

            Assert.Equal([1, 2], results.SelectMany(r => r).Select(m => m.Version).Order());
            await using var command = dataSources[0].CreateCommand("SELECT (SELECT count(*) FROM schema_migrations), (SELECT count(*) FROM second_table)");
            await using var reader = await command.ExecuteReaderAsync(Cancel);
            await reader.ReadAsync(Cancel);
            Assert.Equal(2, reader.GetInt64(0));
            Assert.Equal(1, reader.GetInt64(1));
        }
        finally
        {
            foreach (var ds in dataSources)
            {
                await ds.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Run_NewMigrationAddedLater_AppliesOnlyTheNewOne()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("later"));
        await new PostgresMigrator(dataSource, TwoSteps[..1]).RunAsync(Cancel);

        var applied = await new PostgresMigrator(dataSource, TwoSteps).RunAsync(Cancel);

        Assert.Equal([2], applied.Select(m => m.Version));
    }

    [Fact]
    public async Task Run_AppliedMigrationEdited_ThrowsChecksumErrorNamingTheFile()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("checksum"));
        await new PostgresMigrator(dataSource, TwoSteps[..1]).RunAsync(Cancel);
        var edited = MigrationSet.Parse("001_first.sql", "CREATE TABLE first_table (id BIGINT PRIMARY KEY);");

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => new PostgresMigrator(dataSource, [edited, TwoSteps[1]]).RunAsync(Cancel));

        Assert.Contains("sql/postgres/001_first.sql", error.Message, StringComparison.Ordinal);
        Assert.Contains(TwoSteps[0].Checksum, error.Message, StringComparison.Ordinal);
        Assert.Contains(edited.Checksum, error.Message, StringComparison.Ordinal);
        Assert.Contains("must never change", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FunctionWithDollarQuotedBody_AppliesTheFileAsWritten()
    {
        // The migrator hands a file to PostgreSQL as written: semicolons and @names inside a dollar-quoted body or a
        // string literal stay part of their statement (as in the Orleans migrations 010-012).
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("dollar"));
        var function = MigrationSet.Parse("001_function.sql", """
            CREATE TABLE notes (text TEXT NOT NULL);
            CREATE OR REPLACE FUNCTION add_note(p_text TEXT) RETURNS INTEGER LANGUAGE plpgsql AS $body$
            BEGIN
                INSERT INTO notes (text) VALUES (p_text);
                INSERT INTO notes (text) VALUES ('second; with @Name inside');
                RETURN 2;
            END;
            $body$;
            SELECT add_note('first');
            """);

        await new PostgresMigrator(dataSource, [function]).RunAsync(Cancel);

        await using var command = dataSource.CreateCommand("SELECT string_agg(text, '|' ORDER BY text) FROM notes");
        Assert.Equal("first|second; with @Name inside", await command.ExecuteScalarAsync(Cancel));
    }

    [Fact]
    public async Task Run_FailingMigration_RollsBackItAndRecordsNothing()
    {
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync("failing"));
        var broken = MigrationSet.Parse("002_broken.sql", "CREATE TABLE half_done (id INT);\nSELECT * FROM no_such_table;");

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => new PostgresMigrator(dataSource, [TwoSteps[0], broken]).RunAsync(Cancel));

        Assert.Contains("002_broken", error.Message, StringComparison.Ordinal);
        await using var command = dataSource.CreateCommand("SELECT (SELECT count(*) FROM schema_migrations), to_regclass('half_done') IS NULL");
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        await reader.ReadAsync(Cancel);
        Assert.Equal(1, reader.GetInt64(0));
        Assert.True(reader.GetBoolean(1));
    }
}
