using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.Sqlite;

/// <summary>
/// The connections Orleans' ADO.NET grain storage opens on the embedded SQLite file. Each waits for the file's write
/// lock inside SQLite (<c>busy_timeout</c>, retrying within a millisecond or so) like the stores' writer does. Without
/// it a grain write that meets the stores' open transaction gets SQLITE_BUSY and Microsoft.Data.Sqlite sleeps 150 ms
/// before trying again, which held up an agent's reply by that much whenever the two met.
/// </summary>
public sealed class SqliteGrainStorageDataSource(string databasePath) : DbDataSource
{
    public override string ConnectionString { get; } = new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(databasePath),
        Pooling = true,
        DefaultTimeout = (int)SqliteDatabase.BusyTimeout.TotalSeconds,
    }.ToString();

    protected override DbConnection CreateDbConnection() => new BusyWaitingConnection(ConnectionString);

    private sealed class BusyWaitingConnection(string connectionString) : SqliteConnection(connectionString)
    {
        public override void Open()
        {
            base.Open();
            using var command = CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout = {(int)SqliteDatabase.BusyTimeout.TotalMilliseconds}";
            command.ExecuteNonQuery();
        }
    }
}
