using Messengers.Abstractions.Messages;
using Messengers.Data.Sqlite;
using Microsoft.Data.Sqlite;

namespace Messengers.Data.Messages;

/// <summary>
/// <see cref="IMessageStore"/> in the SQLite table <c>messages</c> (sql/sqlite/002_messages.sql) of the silo's
/// <see cref="SqliteDatabase"/>. Reads use pooled reader connections; every change goes through the database's
/// single writer (like grain storage), and inserting is <c>INSERT ... ON CONFLICT DO NOTHING</c> on the unique key
/// (instance_id, message_id); concurrent inserts are written together (<see cref="MessageInsertBatcher"/>).
/// Failures surface as <see cref="DatabaseException"/>.
/// </summary>
public sealed class SqliteMessageStore : IMessageStore, IAsyncDisposable
{
    private const string Columns =
        "instance_id, message_id, chat_id, from_number, to_number, message_body, message_type, is_from_me, is_group, group_id, " +
        "contact_name, agent_id, session_id, reply_to_message_id, media, ack, timestamp, created_at, client_message_id";

    private const string InsertSql = """
        INSERT INTO messages (instance_id, message_id, chat_id, from_number, to_number, message_body, message_type, is_from_me, is_group,
                              group_id, contact_name, agent_id, session_id, reply_to_message_id, media, ack, timestamp, created_at, client_message_id, published)
        VALUES ($instance, $message, $chat, $from, $to, $body, $type, $fromMe, $group, $groupId, $contactName, $agentId, $sessionId,
                $replyTo, $media, $ack, $timestamp, $createdAt, $clientId, 0)
        ON CONFLICT (instance_id, message_id) DO NOTHING
        """;

    private const string GetSql = $"SELECT {Columns} FROM messages WHERE instance_id = $instance AND message_id = $message";

    private const string HistorySql = $"""
        SELECT {Columns} FROM messages WHERE instance_id = $instance AND chat_id = $chat
        ORDER BY timestamp DESC, message_id DESC LIMIT $limit
        """;

    private const string HistoryBeforeSql = $"""
        SELECT {Columns} FROM messages WHERE instance_id = $instance AND chat_id = $chat AND (timestamp, message_id) < ($beforeTime, $beforeId)
        ORDER BY timestamp DESC, message_id DESC LIMIT $limit
        """;

    private const string ChatsSql = """
        SELECT chat_id, CASE WHEN is_group THEN NULL ELSE name END, is_group, n, timestamp, message_body, is_from_me FROM (
            SELECT chat_id, is_group, timestamp, message_body, is_from_me,
                   count(*) OVER (PARTITION BY chat_id) AS n,
                   row_number() OVER (PARTITION BY chat_id ORDER BY timestamp DESC, message_id DESC) AS rn,
                   first_value(CASE WHEN is_from_me THEN NULL ELSE contact_name END) OVER (
                       PARTITION BY chat_id ORDER BY (is_from_me OR contact_name IS NULL), timestamp DESC, message_id DESC) AS name
            FROM messages WHERE instance_id = $instance
        ) chats
        WHERE rn = 1
        ORDER BY timestamp DESC, chat_id
        LIMIT $limit OFFSET $offset
        """;

    private const string ContactsSql = """
        SELECT contact, name, timestamp FROM (
            SELECT COALESCE(from_number, chat_id) AS contact, timestamp,
                   row_number() OVER (PARTITION BY COALESCE(from_number, chat_id) ORDER BY timestamp DESC, message_id DESC) AS rn,
                   first_value(contact_name) OVER (
                       PARTITION BY COALESCE(from_number, chat_id) ORDER BY (contact_name IS NULL), timestamp DESC, message_id DESC) AS name
            FROM messages WHERE instance_id = $instance AND NOT is_group AND NOT is_from_me
        ) contacts
        WHERE rn = 1
        ORDER BY timestamp DESC, contact
        LIMIT $limit OFFSET $offset
        """;

    private const string AckSql = $"""
        UPDATE messages SET ack = $ack
        WHERE instance_id = $instance AND message_id = $message AND ack <> $ack AND ($failed OR {MessageRows.StoredAckRankSql} < $rank)
        """;

    private const string PublishedSql = "UPDATE messages SET published = 1 WHERE instance_id = $instance AND message_id = $message AND published = 0";
    private const string UnpublishedSql = $"SELECT {Columns} FROM messages WHERE published = 0 ORDER BY id LIMIT $limit";
    private const string OutboxPageSql = $"SELECT {Columns}, id FROM messages WHERE published = 0 AND id > $after ORDER BY id LIMIT $limit";
    private const string CountSql = "SELECT count(*) FROM messages WHERE instance_id = $instance";
    private const string DeleteSql = "DELETE FROM messages WHERE instance_id = $instance";

    /// <summary>The parameters of <see cref="InsertSql"/>, in the order of <see cref="InsertValues"/>.</summary>
    private static readonly string[] InsertParameters =
    [
        "$instance", "$message", "$chat", "$from", "$to", "$body", "$type", "$fromMe", "$group", "$groupId", "$contactName",
        "$agentId", "$sessionId", "$replyTo", "$media", "$ack", "$timestamp", "$createdAt", "$clientId",
    ];

    private readonly SqliteDatabase _database;
    private readonly SqliteStoreCommands _commands;
    private readonly MessageInsertBatcher _inserts;

    public SqliteMessageStore(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _commands = new SqliteStoreCommands(database);

        // One flusher: SQLite has one writer. A failing batch is undone whole (its savepoint), then retried row by row.
        _inserts = new MessageInsertBatcher(
            batch => InsertRowsAsync(batch, CancellationToken.None),
            async pending => (await InsertRowsAsync([pending], pending.CancellationToken))[0],
            exception => exception is DatabaseException,
            flushers: 1);
    }

    public async Task<bool> TryInsertAsync(ChatMessage message, CancellationToken cancellationToken = default)
    {
        MessageRows.Validate(message);
        var createdAt = message.CreatedAt == default ? _database.Time.GetUtcNow() : message.CreatedAt;
        await _database.EnsureMigratedAsync(cancellationToken);
        return await _inserts.InsertAsync(message, createdAt, cancellationToken);
    }

    public ValueTask DisposeAsync() => _inserts.DisposeAsync();

    /// <summary>Inserts rows in one write on the single writer, the command and its parameters prepared once.</summary>
    private Task<bool[]> InsertRowsAsync(List<PendingInsert> rows, CancellationToken cancellationToken)
        => WriteAsync(rows.Count == 1 ? "inserting a message" : "inserting messages", context =>
        {
            var command = context.Command(InsertSql);
            var parameters = InsertParameters.Select(name => command.Parameters.Add(new SqliteParameter { ParameterName = name })).ToArray();
            var outcomes = new bool[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                var values = InsertValues(rows[i]);
                for (var p = 0; p < parameters.Length; p++)
                {
                    parameters[p].Value = SqliteStoreCommands.DbValue(values[p]);
                }

                outcomes[i] = command.ExecuteNonQuery() == 1;
            }

            return outcomes;
        }, cancellationToken);

    private static object?[] InsertValues(PendingInsert row)
    {
        var m = row.Message;
        return
        [
            m.InstanceId, m.MessageId, m.ChatId, m.From, m.To, m.Body, m.Type, m.IsFromMe, m.IsGroup, m.GroupId, m.ContactName,
            m.AgentId, m.SessionId, m.ReplyToMessageId, MessageRows.MediaJson(m.Media), MessageRows.AckText(m.Ack),
            MessageRows.ToSqliteTime(m.Timestamp), MessageRows.ToSqliteTime(row.CreatedAt), m.ClientMessageId,
        ];
    }

    public async Task<ChatMessage?> GetAsync(string instanceId, string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(messageId);
        var found = await QueryAsync("reading a message", GetSql, [("$instance", instanceId), ("$message", messageId)], ReadMessage, cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<ChatMessage>> GetMessagesAsync(string instanceId, string chatId, int limit, MessageCursor? before = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(chatId);
        var take = MessageRows.ClampLimit(limit);
        return before is null
            ? QueryAsync("reading a chat's messages", HistorySql, [("$instance", instanceId), ("$chat", chatId), ("$limit", take)], ReadMessage, cancellationToken)
            : QueryAsync("reading a chat's messages", HistoryBeforeSql,
                [("$instance", instanceId), ("$chat", chatId), ("$limit", take), ("$beforeTime", MessageRows.ToSqliteTime(before.Timestamp)), ("$beforeId", before.MessageId)],
                ReadMessage, cancellationToken);
    }

    public Task<IReadOnlyList<ChatSummary>> GetChatsAsync(string instanceId, int limit, int offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return QueryAsync("listing chats", ChatsSql,
            [("$instance", instanceId), ("$limit", MessageRows.ClampLimit(limit)), ("$offset", MessageRows.ClampOffset(offset))],
            reader => new ChatSummary(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.GetBoolean(2),
                checked((int)reader.GetInt64(3)),
                MessageRows.FromSqliteTime(reader.GetString(4)),
                reader.GetString(5),
                reader.GetBoolean(6)),
            cancellationToken);
    }

    public Task<IReadOnlyList<ContactSummary>> GetContactsAsync(string instanceId, int limit, int offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return QueryAsync("listing contacts", ContactsSql,
            [("$instance", instanceId), ("$limit", MessageRows.ClampLimit(limit)), ("$offset", MessageRows.ClampOffset(offset))],
            reader => new ContactSummary(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), MessageRows.FromSqliteTime(reader.GetString(2))),
            cancellationToken);
    }

    public Task UpdateAckAsync(string instanceId, string messageId, MessageAck ack, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(messageId);
        var text = MessageRows.AckText(ack);
        var rank = MessageRows.AckRank(ack);
        return WriteAsync("updating a message's ack", context =>
        {
            var command = context.Command(AckSql);
            Add(command, "$instance", instanceId);
            Add(command, "$message", messageId);
            Add(command, "$ack", text);
            Add(command, "$failed", ack == MessageAck.Failed);
            Add(command, "$rank", rank);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    public Task MarkPublishedAsync(IReadOnlyCollection<MessageKey> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            return Task.CompletedTask;
        }

        // One statement per message, prepared once; the single writer commits them in one transaction.
        return WriteAsync("marking messages published", context =>
        {
            var command = context.Command(PublishedSql);
            var instance = command.Parameters.Add("$instance", SqliteType.Text);
            var message = command.Parameters.Add("$message", SqliteType.Text);
            var marked = 0;
            foreach (var key in messages)
            {
                instance.Value = key.InstanceId;
                message.Value = key.MessageId;
                marked += command.ExecuteNonQuery();
            }

            return marked;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ChatMessage>> GetUnpublishedAsync(int limit, CancellationToken cancellationToken = default)
        => QueryAsync("reading unpublished messages", UnpublishedSql, [("$limit", MessageRows.ClampLimit(limit))], ReadMessage, cancellationToken);

    public Task<IReadOnlyList<OutboxMessage>> GetOutboxPageAsync(long afterPosition, int limit, CancellationToken cancellationToken = default)
        => QueryAsync("reading the outbox", OutboxPageSql, [("$after", afterPosition), ("$limit", MessageRows.ClampLimit(limit))], reader => new OutboxMessage(reader.GetInt64(19), ReadMessage(reader)), cancellationToken);

    public async Task<long> CountAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        var counts = await QueryAsync("counting messages", CountSql, [("$instance", instanceId)], reader => reader.GetInt64(0), cancellationToken);
        return counts[0];
    }

    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        return WriteAsync("deleting an instance's messages", context =>
        {
            var command = context.Command(DeleteSql);
            Add(command, "$instance", instanceId);
            return command.ExecuteNonQuery();
        }, cancellationToken);
    }

    private Task<T> WriteAsync<T>(string operation, Func<SqliteWriteContext, T> work, CancellationToken cancellationToken)
        => _commands.WriteAsync(operation, work, cancellationToken);

    private Task<IReadOnlyList<T>> QueryAsync<T>(string operation, string sql, (string Name, object? Value)[] values, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
        => _commands.QueryAsync(operation, sql, read, cancellationToken, values);

    private static void Add(SqliteCommand command, string name, object? value) => SqliteStoreCommands.Add(command, name, value);

    private static ChatMessage ReadMessage(SqliteDataReader reader) => new()
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
        Timestamp = MessageRows.FromSqliteTime(reader.GetString(16)),
        CreatedAt = MessageRows.FromSqliteTime(reader.GetString(17)),
        ClientMessageId = Text(reader, 18),
    };

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
