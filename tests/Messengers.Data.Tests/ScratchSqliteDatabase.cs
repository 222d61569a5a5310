using Messengers.Data.Sqlite;

namespace Messengers.Data.Tests;

/// <summary>A SQLite database in a throwaway folder of its own, deleted with it: what the SQLite store tests run on.</summary>
internal sealed class ScratchSqliteDatabase : IAsyncDisposable
{
    private readonly DirectoryInfo _folder;

    public ScratchSqliteDatabase(string folderPrefix, TimeProvider? clock = null, string fileName = "silo.db")
    {
        _folder = Directory.CreateTempSubdirectory(folderPrefix);
        Database = new SqliteDatabase(Path.Combine(_folder.FullName, fileName), clock, fullSync: false);
    }

    public SqliteDatabase Database { get; }

    /// <summary>The name the migrator recorded for migration <paramref name="version"/>, or null when it was not applied.</summary>
    public string? AppliedMigration(int version)
    {
        using var connection = Database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM schema_migrations WHERE version = $version";
        command.Parameters.AddWithValue("$version", version);
        return (string?)command.ExecuteScalar();
    }

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        _folder.Delete(recursive: true);
    }
}
