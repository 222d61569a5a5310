using System.Data.Common;
using Messengers.Data.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.DeadLetters;

/// <summary><see cref="IAgentDeadLetterStore"/> in SQLite (sql/sqlite/004_agent_dead_letters.sql); writes go through the database's single writer.</summary>
public sealed class SqliteAgentDeadLetterStore(SqliteDatabase database) : IAgentDeadLetterStore
{
    public Task<AgentDeadLetter> RecordAsync(AgentDeadLetter deadLetter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        return WriteAsync("recording an agent dead letter", context =>
        {
            var command = context.Command(AgentDeadLetterRows.UpsertSql(parameter => parameter));
            Bind(command, AgentDeadLetterRows.Parameters(deadLetter));
            Bind(command, [("@is_group", deadLetter.IsGroup ? 1 : 0), ("@failed_at", AgentDeadLetterRows.ToSqliteTime(deadLetter.FailedAt))]);
            using var reader = command.ExecuteReader();
            reader.Read();
            return AgentDeadLetterRows.Read(reader, Time);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AgentDeadLetter>> ListAsync(string instanceId, string? status, long? beforeId, int limit, CancellationToken cancellationToken = default)
        => QueryAsync("listing agent dead letters", AgentDeadLetterRows.ListSql, cancellationToken,
            ("@instance_id", instanceId), ("@status", status), ("@before_id", beforeId), ("@limit", Math.Clamp(limit, 1, AgentDeadLetterRows.MaxLimit)));

    public async Task<AgentDeadLetter?> GetAsync(string instanceId, long id, CancellationToken cancellationToken = default)
        => (await QueryAsync("reading an agent dead letter", AgentDeadLetterRows.GetSql, cancellationToken, ("@instance_id", instanceId), ("@id", id))).SingleOrDefault();

    public Task<bool> ResolveAsync(string instanceId, long id, DateTimeOffset at, CancellationToken cancellationToken = default)
        => WriteAsync("resolving an agent dead letter", context =>
        {
            var command = context.Command(AgentDeadLetterRows.ResolveSql);
            Bind(command, [("@instance_id", instanceId), ("@id", id), ("@at", AgentDeadLetterRows.ToSqliteTime(at))]);
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    private static DateTimeOffset Time(DbDataReader reader, int ordinal) => AgentDeadLetterRows.FromSqliteTime(reader.GetString(ordinal));

    private static void Bind(SqliteCommand command, IEnumerable<(string Name, object? Value)> parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }

    private async Task<T> WriteAsync<T>(string operation, Func<SqliteWriteContext, T> work, CancellationToken cancellationToken)
    {
        try
        {
            await database.EnsureMigratedAsync(cancellationToken);
            return await database.WriteAsync(work, cancellationToken);
        }
        catch (SqliteException ex)
        {
            throw new DatabaseException($"{database.Description} failed while {operation}: {ex.Message}", ex);
        }
    }

    private async Task<IReadOnlyList<AgentDeadLetter>> QueryAsync(string operation, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        try
        {
            await database.EnsureMigratedAsync(cancellationToken);
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            Bind(command, parameters);
            using var reader = command.ExecuteReader();
            var rows = new List<AgentDeadLetter>();
            while (reader.Read())
            {
                rows.Add(AgentDeadLetterRows.Read(reader, Time));
            }

            return rows;
        }
        catch (SqliteException ex)
        {
            throw new DatabaseException($"{database.Description} failed while {operation}: {ex.Message}", ex);
        }
    }
}
