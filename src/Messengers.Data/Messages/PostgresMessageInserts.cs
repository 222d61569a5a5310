using Messengers.Abstractions.Messages;
using Messengers.Data.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Data.Messages;

/// <summary>
/// Message inserts of <see cref="PostgresMessageStore"/>, batched by <see cref="MessageInsertBatcher"/>: inserts that
/// arrive while earlier ones are in flight go together as one multi-row <c>INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING</c> (one round
/// trip, one statement, one commit); each insert learns from the returned keys whether it was the one stored. Alone, an
/// insert is sent at once as a single row: batching adds no latency. A batch that fails on a statement error is run row
/// by row so only the faulty insert fails; a retry after a lost connection recognises rows its first attempt committed.
/// </summary>
internal sealed class PostgresMessageInserts : IAsyncDisposable
{
    /// <summary>The rows and their outbox entries (sql/postgres/006_message_outbox.sql); returns the keys this statement stored.</summary>
    private const string BatchSql = """
        WITH stored AS (
            INSERT INTO messages (instance_id, message_id, chat_id, from_number, to_number, message_body, message_type, is_from_me, is_group,
                                  group_id, contact_name, agent_id, session_id, reply_to_message_id, media, ack, timestamp, created_at, client_message_id)
            SELECT i, m, c, f, t, b, ty, fm, g, gi, cn, ai, si, rt, md::jsonb, a, ts, ca, cl
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::boolean[],
                        $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::timestamptz[], $18::timestamptz[], $19::text[])
                 WITH ORDINALITY AS k(i, m, c, f, t, b, ty, fm, g, gi, cn, ai, si, rt, md, a, ts, ca, cl, n)
            ORDER BY n
            ON CONFLICT (instance_id, message_id) DO NOTHING
            RETURNING id, instance_id, message_id),
        outbox AS (
            INSERT INTO message_outbox (instance_id, message_id, id) SELECT instance_id, message_id, id FROM stored)
        SELECT instance_id, message_id FROM stored
        """;

    private const string OwnRowsSql = """
        SELECT m.instance_id, m.message_id FROM messages m
        JOIN unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[]) AS k(i, id, ca, b, c)
          ON m.instance_id = k.i AND m.message_id = k.id AND m.created_at = k.ca AND m.message_body = k.b AND m.chat_id = k.c
        """;

    private readonly PostgresDatabase _database;
    private readonly MessageInsertBatcher _batcher;

    /// <param name="insertOne">The single-row insert, for a batch of one and for the row-by-row fallback.</param>
    /// <param name="flushers">How many batches may be in flight at once.</param>
    public PostgresMessageInserts(PostgresDatabase database, Func<ChatMessage, DateTimeOffset, CancellationToken, Task<bool>> insertOne, int flushers = 2)
    {
        _database = database;
        _batcher = new MessageInsertBatcher(
            RunBatchAsync,
            pending => insertOne(pending.Message, pending.CreatedAt, pending.CancellationToken),
            exception => exception is DatabaseException { InnerException: PostgresException pg } && !PostgresDatabase.IsConnectionFailure(pg),
            flushers);
    }

    /// <summary>Inserts <paramref name="message"/> (its created_at already decided); true when this call stored it.</summary>
    public Task<bool> InsertAsync(ChatMessage message, DateTimeOffset createdAt, CancellationToken cancellationToken)
        => _batcher.InsertAsync(message, createdAt, cancellationToken);

    public ValueTask DisposeAsync() => _batcher.DisposeAsync();

    private async Task<bool[]> RunBatchAsync(List<PendingInsert> batch)
    {
        // The same key order in every batch: concurrent batches wait on each other's keys without deadlocking.
        var ordered = batch.OrderBy(p => p.Message.InstanceId, StringComparer.Ordinal).ThenBy(p => p.Message.MessageId, StringComparer.Ordinal).ToList();
        var stored = await _database.RunAsync("inserting messages", (connection, attempt, ct) => InsertAsync(connection, attempt, ordered, ct), CancellationToken.None);

        // Two inserts of one key in a batch: the first (in statement order) stored it.
        var claimed = new HashSet<MessageKey>();
        var outcome = new Dictionary<PendingInsert, bool>(ReferenceEqualityComparer.Instance);
        foreach (var pending in ordered)
        {
            var key = new MessageKey(pending.Message.InstanceId, pending.Message.MessageId);
            outcome[pending] = stored.Contains(key) && claimed.Add(key);
        }

        return [.. batch.Select(p => outcome[p])];
    }

    private static async Task<HashSet<MessageKey>> InsertAsync(NpgsqlConnection connection, int attempt, List<PendingInsert> batch, CancellationToken cancellationToken)
    {
        var stored = new HashSet<MessageKey>();
        await using (var insert = new NpgsqlCommand(BatchSql, connection))
        {
            Texts(insert, batch, m => m.InstanceId);
            Texts(insert, batch, m => m.MessageId);
            Texts(insert, batch, m => m.ChatId);
            Texts(insert, batch, m => m.From);
            Texts(insert, batch, m => m.To);
            Texts(insert, batch, m => m.Body);
            Texts(insert, batch, m => m.Type);
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean, Value = batch.Select(p => p.Message.IsFromMe).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean, Value = batch.Select(p => p.Message.IsGroup).ToArray() });
            Texts(insert, batch, m => m.GroupId);
            Texts(insert, batch, m => m.ContactName);
            Texts(insert, batch, m => m.AgentId);
            Texts(insert, batch, m => m.SessionId);
            Texts(insert, batch, m => m.ReplyToMessageId);
            Texts(insert, batch, m => MessageRows.MediaJson(m.Media));
            Texts(insert, batch, m => MessageRows.AckText(m.Ack));
            Times(insert, batch.Select(p => p.Message.Timestamp));
            Times(insert, batch.Select(p => p.CreatedAt));
            Texts(insert, batch, m => m.ClientMessageId);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(new MessageKey(reader.GetString(0), reader.GetString(1)));
            }
        }

        if (attempt > 1)
        {
            // A retry after a lost connection: the first attempt may have committed our own rows.
            await using var own = new NpgsqlCommand(OwnRowsSql, connection);
            Texts(own, batch, m => m.InstanceId);
            Texts(own, batch, m => m.MessageId);
            Times(own, batch.Select(p => p.CreatedAt));
            Texts(own, batch, m => m.Body);
            Texts(own, batch, m => m.ChatId);
            await using var reader = await own.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(new MessageKey(reader.GetString(0), reader.GetString(1)));
            }
        }

        return stored;
    }

    private static void Texts(NpgsqlCommand command, List<PendingInsert> batch, Func<ChatMessage, string?> value)
        => command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = batch.Select(p => value(p.Message)).ToArray() });

    private static void Times(NpgsqlCommand command, IEnumerable<DateTimeOffset> values)
        => command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = values.Select(v => MessageRows.Normalize(v).UtcDateTime).ToArray() });
}
