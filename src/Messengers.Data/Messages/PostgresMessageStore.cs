using Messengers.Abstractions.Messages;
using Messengers.Data.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Messengers.Data.Messages;

/// <summary>
/// <see cref="IMessageStore"/> in the PostgreSQL table <c>messages</c> (sql/postgres/002_messages.sql) of the silo's
/// <see cref="PostgresDatabase"/>. Inserting is <c>INSERT ... ON CONFLICT DO NOTHING</c>: the unique key
/// (instance_id, message_id) decides atomically which of concurrent inserts of one message wins.
/// Concurrent inserts are batched (<see cref="PostgresMessageInserts"/>).
/// Failures surface as <see cref="DatabaseException"/> (server address, never credentials).
/// </summary>
public sealed class PostgresMessageStore : IMessageStore, IAsyncDisposable
{
    private const string Columns =
        "instance_id, message_id, chat_id, from_number, to_number, message_body, message_type, is_from_me, is_group, group_id, " +
        "contact_name, agent_id, session_id, reply_to_message_id, media::text, ack, timestamp, created_at, client_message_id";

    /// <summary>The row and its outbox entry (sql/postgres/006_message_outbox.sql) in one statement; 1 when stored, 0 when known.</summary>
    private const string InsertSql = """
        WITH stored AS (
            INSERT INTO messages (instance_id, message_id, chat_id, from_number, to_number, message_body, message_type, is_from_me, is_group,
                                  group_id, contact_name, agent_id, session_id, reply_to_message_id, media, ack, timestamp, created_at, client_message_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            ON CONFLICT (instance_id, message_id) DO NOTHING
            RETURNING id, instance_id, message_id)
        INSERT INTO message_outbox (instance_id, message_id, id) SELECT instance_id, message_id, id FROM stored
        """;

    private const string OwnInsertSql = "SELECT created_at = $3 AND message_body = $4 AND chat_id = $5 FROM messages WHERE instance_id = $1 AND message_id = $2";

    private const string GetSql = $"SELECT {Columns} FROM messages WHERE instance_id = $1 AND message_id = $2";

    private const string HistorySql = $"""
        SELECT {Columns} FROM messages WHERE instance_id = $1 AND chat_id = $2
        ORDER BY timestamp DESC, message_id DESC LIMIT $3
        """;

    private const string HistoryBeforeSql = $"""
        SELECT {Columns} FROM messages WHERE instance_id = $1 AND chat_id = $2 AND (timestamp, message_id) < ($4, $5)
        ORDER BY timestamp DESC, message_id DESC LIMIT $3
        """;

    private const string ChatsSql = """
        SELECT chat_id, CASE WHEN is_group THEN NULL ELSE name END, is_group, n, timestamp, message_body, is_from_me FROM (
            SELECT chat_id, is_group, timestamp, message_body, is_from_me,
                   count(*) OVER (PARTITION BY chat_id) AS n,
                   row_number() OVER (PARTITION BY chat_id ORDER BY timestamp DESC, message_id DESC) AS rn,
                   first_value(CASE WHEN is_from_me THEN NULL ELSE contact_name END) OVER (
                       PARTITION BY chat_id ORDER BY (is_from_me OR contact_name IS NULL), timestamp DESC, message_id DESC) AS name
            FROM messages WHERE instance_id = $1
        ) chats
        WHERE rn = 1
        ORDER BY timestamp DESC, chat_id
        LIMIT $2 OFFSET $3
        """;

    private const string ContactsSql = """
        SELECT contact, name, timestamp FROM (
            SELECT COALESCE(from_number, chat_id) AS contact, timestamp,
                   row_number() OVER (PARTITION BY COALESCE(from_number, chat_id) ORDER BY timestamp DESC, message_id DESC) AS rn,
                   first_value(contact_name) OVER (
                       PARTITION BY COALESCE(from_number, chat_id) ORDER BY (contact_name IS NULL), timestamp DESC, message_id DESC) AS name
            FROM messages WHERE instance_id = $1 AND NOT is_group AND NOT is_from_me
        ) contacts
        WHERE rn = 1
        ORDER BY timestamp DESC, contact
        LIMIT $2 OFFSET $3
        """;

    private const string AckSql = $"""
        UPDATE messages SET ack = $3
        WHERE instance_id = $1 AND message_id = $2 AND ack <> $3 AND ($4 OR {MessageRows.StoredAckRankSql} < $5)
        """;

    private const string PublishedSql = """
        DELETE FROM message_outbox o
        USING unnest($1::text[], $2::text[]) AS k(instance_id, message_id)
        WHERE o.instance_id = k.instance_id AND o.message_id = k.message_id
        """;
    private const string UnpublishedSql = $"SELECT {Columns} FROM messages WHERE id IN (SELECT id FROM message_outbox ORDER BY id LIMIT $1) ORDER BY id";
    private const string OutboxPageSql = $"SELECT {Columns}, id FROM messages WHERE id IN (SELECT id FROM message_outbox WHERE id > $1 ORDER BY id LIMIT $2) ORDER BY id";
    private const string CountSql = "SELECT count(*) FROM messages WHERE instance_id = $1";
    private const string DeleteSql = "WITH outbox AS (DELETE FROM message_outbox WHERE instance_id = $1) DELETE FROM messages WHERE instance_id = $1";

    private readonly PostgresDatabase _database;
    private readonly PostgresStoreCommands _commands;
    private readonly PostgresMessageInserts _inserts;

    public PostgresMessageStore(PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _commands = new PostgresStoreCommands(database);
        _inserts = new PostgresMessageInserts(database, InsertOneAsync);
    }

    public ValueTask DisposeAsync() => _inserts.DisposeAsync();

    public async Task<bool> TryInsertAsync(ChatMessage message, CancellationToken cancellationToken = default)
    {
        MessageRows.Validate(message);
        var createdAt = MessageRows.Normalize(message.CreatedAt == default ? _database.Time.GetUtcNow() : message.CreatedAt);
        await _database.EnsureMigratedAsync(cancellationToken);
        return await _inserts.InsertAsync(message, createdAt, cancellationToken);
    }

    private Task<bool> InsertOneAsync(ChatMessage message, DateTimeOffset createdAt, CancellationToken cancellationToken)
        => _database.RunAsync("inserting a message", async (connection, attempt, ct) =>
        {
            await using (var insert = new NpgsqlCommand(InsertSql, connection))
            {
                Add(insert, message.InstanceId);
                Add(insert, message.MessageId);
                Add(insert, message.ChatId);
                Add(insert, message.From);
                Add(insert, message.To);
                Add(insert, message.Body);
                Add(insert, message.Type);
                Add(insert, message.IsFromMe);
                Add(insert, message.IsGroup);
                Add(insert, message.GroupId);
                Add(insert, message.ContactName);
                Add(insert, message.AgentId);
                Add(insert, message.SessionId);
                Add(insert, message.ReplyToMessageId);
                insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = (object?)MessageRows.MediaJson(message.Media) ?? DBNull.Value });
                Add(insert, MessageRows.AckText(message.Ack));
                Add(insert, MessageRows.Normalize(message.Timestamp));
                Add(insert, createdAt);
                Add(insert, message.ClientMessageId);
                if (await insert.ExecuteNonQueryAsync(ct) == 1)
                {
                    return true;
                }
            }

            if (attempt == 1)
            {
                return false;
            }

            // A retry after a lost connection: the first attempt may have committed our own row.
            await using var own = new NpgsqlCommand(OwnInsertSql, connection);
            Add(own, message.InstanceId);
            Add(own, message.MessageId);
            Add(own, createdAt);
            Add(own, message.Body);
            Add(own, message.ChatId);
            return await own.ExecuteScalarAsync(ct) is true;
        }, cancellationToken);

    public async Task<ChatMessage?> GetAsync(string instanceId, string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(messageId);
        var found = await QueryAsync("reading a message", GetSql, [instanceId, messageId], cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<ChatMessage>> GetMessagesAsync(string instanceId, string chatId, int limit, MessageCursor? before = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(chatId);
        var take = MessageRows.ClampLimit(limit);
        return before is null
            ? QueryAsync("reading a chat's messages", HistorySql, [instanceId, chatId, take], cancellationToken)
            : QueryAsync("reading a chat's messages", HistoryBeforeSql, [instanceId, chatId, take, MessageRows.Normalize(before.Timestamp), before.MessageId], cancellationToken);
    }

    public Task<IReadOnlyList<ChatSummary>> GetChatsAsync(string instanceId, int limit, int offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return _commands.QueryAsync(
            "listing chats",
            ChatsSql,
            reader => new ChatSummary(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.GetBoolean(2),
                checked((int)reader.GetInt64(3)),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetString(5),
                reader.GetBoolean(6)),
            cancellationToken,
            instanceId, MessageRows.ClampLimit(limit), MessageRows.ClampOffset(offset));
    }

    public Task<IReadOnlyList<ContactSummary>> GetContactsAsync(string instanceId, int limit, int offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return _commands.QueryAsync(
            "listing contacts",
            ContactsSql,
            reader => new ContactSummary(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)),
            cancellationToken,
            instanceId, MessageRows.ClampLimit(limit), MessageRows.ClampOffset(offset));
    }

    public Task UpdateAckAsync(string instanceId, string messageId, MessageAck ack, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(messageId);
        return ExecuteAsync("updating a message's ack", AckSql,
            [instanceId, messageId, MessageRows.AckText(ack), ack == MessageAck.Failed, MessageRows.AckRank(ack)], cancellationToken);
    }

    public Task MarkPublishedAsync(IReadOnlyCollection<MessageKey> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return messages.Count == 0
            ? Task.CompletedTask
            : ExecuteAsync("marking messages published", PublishedSql, [messages.Select(m => m.InstanceId).ToArray(), messages.Select(m => m.MessageId).ToArray()], cancellationToken);
    }

    public Task<IReadOnlyList<ChatMessage>> GetUnpublishedAsync(int limit, CancellationToken cancellationToken = default)
        => QueryAsync("reading unpublished messages", UnpublishedSql, [MessageRows.ClampLimit(limit)], cancellationToken);

    public Task<IReadOnlyList<OutboxMessage>> GetOutboxPageAsync(long afterPosition, int limit, CancellationToken cancellationToken = default)
        => _commands.QueryAsync("reading the outbox", OutboxPageSql, reader => new OutboxMessage(reader.GetInt64(19), Read(reader)), cancellationToken, afterPosition, MessageRows.ClampLimit(limit));

    public async Task<long> CountAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return (await _commands.QueryAsync("counting messages", CountSql, reader => reader.GetInt64(0), cancellationToken, instanceId))[0];
    }

    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return ExecuteAsync("deleting an instance's messages", DeleteSql, [instanceId], cancellationToken);
    }

    private Task<int> ExecuteAsync(string operation, string sql, object?[] values, CancellationToken cancellationToken)
        => _commands.ExecuteAsync(operation, sql, cancellationToken, values);

    private Task<IReadOnlyList<ChatMessage>> QueryAsync(string operation, string sql, object?[] values, CancellationToken cancellationToken)
        => _commands.QueryAsync(operation, sql, Read, cancellationToken, values);

    private static void Add(NpgsqlCommand command, object? value) => PostgresStoreCommands.Add(command, value);

    private static ChatMessage Read(NpgsqlDataReader reader) => new()
    {
        InstanceId = reader.GetString(0),
        MessageId = reader.GetString(1),
        ChatId = reader.GetString(2),
        From = Text(reader, 3),
        To = Text(reader, 4),
        Body = reader.GetString(5),
        Type = reader.GetString(6),
        IsFromMe = reader.GetBoolean(7),
        IsGroup = reader.GetBoolean(8),
        GroupId = Text(reader, 9),
        ContactName = Text(reader, 10),
        AgentId = Text(reader, 11),
        SessionId = Text(reader, 12),
        ReplyToMessageId = Text(reader, 13),
        Media = MessageRows.ParseMedia(Text(reader, 14)),
        Ack = MessageRows.ParseAck(reader.GetString(15)),
        Timestamp = reader.GetFieldValue<DateTimeOffset>(16),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(17),
        ClientMessageId = Text(reader, 18),
    };

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
