using Messengers.Data.Migrations;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.Tests.Migrations;

/// <summary>Migration 009 (Orleans' grain state table and queries) on SQLite.</summary>
public sealed class SqliteOrleansMigrationTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-sqlite-orleans-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void Migrate_OrleansMigrationAppliedAgain_SucceedsAndKeepsRowsAndQueries()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_folder.FullName, "silo.db")};Pooling=False");
        connection.Open();
        new SqliteMigrator().Run(connection);
        Execute(connection, """
            INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
            VALUES (1, 0, 0, 2, 'counter', 'k', 's1', x'7b7d', '2026-01-01T00:00:00.000Z', 4);
            DELETE FROM schema_migrations WHERE version = 9;
            """);

        var applied = new SqliteMigrator().Run(connection);

        Assert.Equal([9], applied.Select(m => m.Version));
        Assert.Equal(1L, Scalar(connection, "SELECT count(*) FROM OrleansStorage"));
        Assert.Equal(
            "ClearStorageKey,DeleteStorageKey,ReadFromStorageKey,WriteToStorageKey",
            Scalar(connection, "SELECT group_concat(QueryKey, ',') FROM (SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey)"));
    }

    [Fact]
    public void OrleansStorage_SameStateInsertedTwice_SecondRefusedByUniqueIndexAlsoWithoutStringKey()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_folder.FullName, "silo.db")};Pooling=False");
        connection.Open();
        new SqliteMigrator().Run(connection);
        const string Insert = """
            INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
            VALUES (1, 5, 0, 2, 'counter', {0}, 's1', NULL, '2026-01-01T00:00:00.000Z', 1)
            """;
        Execute(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, "NULL"));
        Execute(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, "''"));

        Assert.Throws<SqliteException>(() => Execute(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, "NULL")));
        Assert.Throws<SqliteException>(() => Execute(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, "''")));
        Assert.Equal(2L, Scalar(connection, "SELECT count(*) FROM OrleansStorage"));
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = new SqliteCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = new SqliteCommand(sql, connection);
        return command.ExecuteScalar();
    }
}
