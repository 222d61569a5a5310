using Microsoft.Data.Sqlite;

namespace Messengers.Data.Sqlite;

/// <summary>
/// What a write sees on the single writer connection of a <see cref="SqliteDatabase"/>: the connection, the open
/// batch transaction, and prepared commands cached per SQL text.
/// </summary>
public sealed class SqliteWriteContext : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    internal SqliteWriteContext(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    /// <summary>The transaction of the current batch; the write runs inside a savepoint of it.</summary>
    public SqliteTransaction Transaction { get; internal set; } = null!;

    /// <summary>
    /// A prepared command for <paramref name="sql"/>, bound to the batch transaction, with no parameters. It belongs to
    /// the writer: do not dispose it or keep it past the write.
    /// </summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }

        command.Transaction = Transaction;
        command.Parameters.Clear();
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        Connection.Dispose();
    }
}
