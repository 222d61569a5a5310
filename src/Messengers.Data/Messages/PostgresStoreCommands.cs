using Messengers.Data.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Data.Messages;

/// <summary>
/// What every PostgreSQL-backed store of this project does the same way: wait for migrations, run a statement with
/// positional parameters through the database's retrying runner (which turns connection failures into a
/// <see cref="DatabaseException"/> naming the operation), and read rows.
/// </summary>
internal sealed class PostgresStoreCommands(PostgresDatabase database)
{
    public async Task<int> ExecuteAsync(string operation, string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await database.EnsureMigratedAsync(cancellationToken);
        return await database.RunAsync(operation, async (connection, _, ct) =>
        {
            await using var command = Command(connection, sql, values);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string operation, string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
    {
        await database.EnsureMigratedAsync(cancellationToken);
        return await database.RunAsync(operation, async (connection, _, ct) =>
        {
            await using var command = Command(connection, sql, values);
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<T>();
            while (await reader.ReadAsync(ct))
            {
                rows.Add(read(reader));
            }

            return (IReadOnlyList<T>)rows;
        }, cancellationToken);
    }

    /// <summary>
    /// Binds a positional parameter: an <see cref="NpgsqlParameter"/> as given (for typed NULLs), a time as
    /// <c>timestamptz</c> in UTC, NULL untyped (PostgreSQL infers the column's type).
    /// </summary>
    public static void Add(NpgsqlCommand command, object? value)
        => command.Parameters.Add(value switch
        {
            NpgsqlParameter parameter => parameter,
            null => new NpgsqlParameter { Value = DBNull.Value },
            DateTimeOffset time => new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = time.UtcDateTime },
            _ => new NpgsqlParameter { Value = value },
        });

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            Add(command, value);
        }

        return command;
    }
}
