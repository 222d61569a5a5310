namespace Messengers.Data.Sqlite;

public static class SqliteGrainStorageExtensions
{
    /// <summary>
    /// Grain state <paramref name="name"/> in the embedded SQLite file through Orleans' ADO.NET grain storage (its
    /// table is migration 009), on connections that wait for the write lock (<see cref="SqliteGrainStorageDataSource"/>).
    /// </summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder silo, string name, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.AddAdoNetGrainStorage(name, storage =>
        {
            // Orleans serves this invariant with Microsoft.Data.Sqlite.
            storage.Invariant = "System.Data.SQLite";
            storage.DataSource = new SqliteGrainStorageDataSource(databasePath);
        });
        return silo;
    }
}
