using Messengers.Data.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.Messages;

/// <summary>
/// What every SQLite-backed store of this project does the same way: wait for migrations, write through the
/// database's single writer, read with a pooled connection, and turn SQLite errors into a
/// <see cref="DatabaseException"/> that names the database and the operation.
/// </summary>
internal sealed class SqliteStoreCommands(SqliteDatabase database)
{
    public async Task<T> WriteAsync<T>(string operation, Func<SqliteWriteContext, T> work, CancellationToken cancellationToken)
    {
        try
        {
            await database.EnsureMigratedAsync(cancellationToken);
            return await database.WriteAsync(work, cancellationToken);
        }
        catch (SqliteException ex)
        {
            throw Failed(ex, operation);
        }
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string operation, string sql, Func<SqliteDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        try
        {
            await database.EnsureMigratedAsync(cancellationToken);
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                Add(command, name, value);
            }

            using var reader = command.ExecuteReader();
            var rows = new List<T>();
            while (reader.Read())
            {
                rows.Add(read(reader));
            }

            return rows;
        }
        catch (SqliteException ex)
        {
            throw Failed(ex, operation);
        }
    }

    /// <summary>Binds a parameter: null as NULL, booleans as 0/1.</summary>
    public static void Add(SqliteCommand command, string name, object? value)
        => command.Parameters.AddWithValue(name, DbValue(value));

    /// <summary>A value as SQLite takes it: null as NULL, booleans as 0/1.</summary>
    public static object DbValue(object? value) => value switch
    {
        null => DBNull.Value,
        bool b => b ? 1 : 0,
        _ => value,
    };

    private DatabaseException Failed(SqliteException exception, string operation)
        => new($"{database.Description} failed while {operation}: {exception.Message}", exception);
}
