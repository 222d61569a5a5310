using System.Data.Common;
using Messengers.Data.Postgres;
using Npgsql;

namespace Messengers.Data.DeadLetters;

/// <summary><see cref="IAgentDeadLetterStore"/> in PostgreSQL (sql/postgres/004_agent_dead_letters.sql).</summary>
public sealed class PostgresAgentDeadLetterStore(PostgresDatabase database) : IAgentDeadLetterStore
{
    public Task<AgentDeadLetter> RecordAsync(AgentDeadLetter deadLetter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        // The upsert is idempotent, so the database's retry after a lost connection is harmless.
        return RunAsync("recording an agent dead letter", AgentDeadLetterRows.UpsertSql(parameter => $"CAST({parameter} AS jsonb)"),
            [.. AgentDeadLetterRows.Parameters(deadLetter), ("@is_group", deadLetter.IsGroup), ("@failed_at", AgentDeadLetterRows.Normalize(deadLetter.FailedAt))],
            async command =>
            {
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                return AgentDeadLetterRows.Read(reader, Time);
            },
            cancellationToken);
    }

    public Task<IReadOnlyList<AgentDeadLetter>> ListAsync(string instanceId, string? status, long? beforeId, int limit, CancellationToken cancellationToken = default)
        => QueryAsync("listing agent dead letters", AgentDeadLetterRows.ListSql.Replace("@status IS NULL", "CAST(@status AS text) IS NULL", StringComparison.Ordinal).Replace("@before_id IS NULL", "CAST(@before_id AS bigint) IS NULL", StringComparison.Ordinal),
            [("@instance_id", instanceId), ("@status", status), ("@before_id", beforeId), ("@limit", Math.Clamp(limit, 1, AgentDeadLetterRows.MaxLimit))], cancellationToken);

    public async Task<AgentDeadLetter?> GetAsync(string instanceId, long id, CancellationToken cancellationToken = default)
        => (await QueryAsync("reading an agent dead letter", AgentDeadLetterRows.GetSql, [("@instance_id", instanceId), ("@id", id)], cancellationToken)).SingleOrDefault();

    public Task<bool> ResolveAsync(string instanceId, long id, DateTimeOffset at, CancellationToken cancellationToken = default)
        => RunAsync("resolving an agent dead letter", AgentDeadLetterRows.ResolveSql,
            [("@instance_id", instanceId), ("@id", id), ("@at", AgentDeadLetterRows.Normalize(at))],
            async command => await command.ExecuteNonQueryAsync(cancellationToken) == 1,
            cancellationToken);

    private static DateTimeOffset Time(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    private Task<IReadOnlyList<AgentDeadLetter>> QueryAsync(string operation, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
        => RunAsync<IReadOnlyList<AgentDeadLetter>>(operation, sql, parameters, async command =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<AgentDeadLetter>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(AgentDeadLetterRows.Read(reader, Time));
            }

            return rows;
        },
        cancellationToken);

    private async Task<T> RunAsync<T>(string operation, string sql, (string Name, object? Value)[] parameters, Func<NpgsqlCommand, Task<T>> work, CancellationToken cancellationToken)
    {
        await database.EnsureMigratedAsync(cancellationToken);
        return await database.RunAsync(operation, async (connection, _, _) =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            foreach (var (name, value) in parameters)
            {
                // An untyped NULL lets PostgreSQL infer the column's type (the list query casts its optional filters).
                command.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
            }

            return await work(command);
        }, cancellationToken);
    }
}
