using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Messengers.Abstractions.Messages;

namespace Messengers.Data.DeadLetters;

/// <summary>
/// An agent call given up after its last attempt: which incoming messages went unanswered, to which agent, and why.
/// <see cref="Error"/> is the bridge's failure text, which never holds keys, header values or URL secrets.
/// </summary>
public sealed record AgentDeadLetter
{
    public long Id { get; init; }
    public required string InstanceId { get; init; }
    public required string ChatId { get; init; }

    /// <summary>The first message of the batch: the key of the record and of the reply's client id.</summary>
    public required string MessageId { get; init; }

    /// <summary>Every incoming message sent to the agent as one, in order (more than one with debounce).</summary>
    public required IReadOnlyList<string> MessageIds { get; init; }

    public string? From { get; init; }
    public bool IsGroup { get; init; }

    /// <summary>The text sent to the agent (the messages' bodies joined).</summary>
    public required string Text { get; init; }

    /// <summary>The media of those messages, in order, kept so that a retry sends the same attachments.</summary>
    public IReadOnlyList<MediaRef> Media { get; init; } = [];

    public required string Backend { get; init; }
    public string? AgentId { get; init; }

    /// <summary>An <see cref="AgentFailureReason"/> name, or <c>Error</c> for an unexpected failure.</summary>
    public required string Reason { get; init; }

    public int? StatusCode { get; init; }
    public required string Error { get; init; }

    /// <summary>Bridge attempts made (each one a full call with the backend's own retries).</summary>
    public int Attempts { get; init; }

    public string Status { get; init; } = AgentDeadLetterStatus.Open;
    public DateTimeOffset FailedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
}

public static class AgentDeadLetterStatus
{
    /// <summary>Waiting for an operator (or a retry through the API).</summary>
    public const string Open = "open";

    /// <summary>A retry was answered and the reply sent.</summary>
    public const string Resolved = "resolved";

    public static bool IsKnown(string status) => status is Open or Resolved;
}

/// <summary>The dead-letter table of sql/*/004_agent_dead_letters.sql (media: 007); implementations for SQLite and PostgreSQL.</summary>
public interface IAgentDeadLetterStore
{
    /// <summary>Stores a dead letter, or updates the open one of the same (instance, first message); returns the stored row.</summary>
    Task<AgentDeadLetter> RecordAsync(AgentDeadLetter deadLetter, CancellationToken cancellationToken = default);

    /// <summary>An instance's dead letters, newest first, with ids below <paramref name="beforeId"/> when given.</summary>
    Task<IReadOnlyList<AgentDeadLetter>> ListAsync(string instanceId, string? status, long? beforeId, int limit, CancellationToken cancellationToken = default);

    Task<AgentDeadLetter?> GetAsync(string instanceId, long id, CancellationToken cancellationToken = default);

    /// <summary>Marks a dead letter resolved (its retry was answered); false when there is no such row.</summary>
    Task<bool> ResolveAsync(string instanceId, long id, DateTimeOffset at, CancellationToken cancellationToken = default);
}

/// <summary>SQL and row mapping shared by both stores (same column order; times and booleans differ per dialect).</summary>
internal static class AgentDeadLetterRows
{
    public const int MaxLimit = 500;

    private static readonly JsonSerializerOptions MediaJson = new(JsonSerializerDefaults.Web);

    private const string SqliteTimeFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'";

    /// <summary>UTC, whole microseconds: what PostgreSQL keeps (the same text form as the message tables on SQLite).</summary>
    public static DateTimeOffset Normalize(DateTimeOffset value) => new(value.UtcTicks - (value.UtcTicks % 10), TimeSpan.Zero);

    public static string ToSqliteTime(DateTimeOffset value) => Normalize(value).ToString(SqliteTimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset FromSqliteTime(string text)
        => DateTimeOffset.ParseExact(text, SqliteTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public const string Columns = "id, instance_id, chat_id, message_id, message_ids, sender, is_group, text, backend, agent_id, reason, status_code, error, attempts, status, failed_at, resolved_at, media";

    /// <param name="json">How a JSON parameter is written in the dialect (PostgreSQL casts the text to jsonb).</param>
    public static string UpsertSql(Func<string, string> json) => $"""
        INSERT INTO agent_dead_letters (instance_id, chat_id, message_id, message_ids, sender, is_group, text, media, backend, agent_id, reason, status_code, error, attempts, status, failed_at)
        VALUES (@instance_id, @chat_id, @message_id, {json("@message_ids")}, @sender, @is_group, @text, {json("@media")}, @backend, @agent_id, @reason, @status_code, @error, @attempts, 'open', @failed_at)
        ON CONFLICT (instance_id, message_id) DO UPDATE SET
            message_ids = excluded.message_ids, text = excluded.text, media = excluded.media, backend = excluded.backend, agent_id = excluded.agent_id,
            reason = excluded.reason, status_code = excluded.status_code, error = excluded.error, attempts = excluded.attempts,
            status = 'open', failed_at = excluded.failed_at, resolved_at = NULL
        RETURNING {Columns}
        """;

    public const string ListSql = $"""
        SELECT {Columns} FROM agent_dead_letters
        WHERE instance_id = @instance_id AND (@status IS NULL OR status = @status) AND (@before_id IS NULL OR id < @before_id)
        ORDER BY id DESC LIMIT @limit
        """;

    public const string GetSql = $"SELECT {Columns} FROM agent_dead_letters WHERE instance_id = @instance_id AND id = @id";

    public const string ResolveSql = "UPDATE agent_dead_letters SET status = 'resolved', resolved_at = @at WHERE instance_id = @instance_id AND id = @id";

    /// <summary>The parameters of <see cref="UpsertSql"/> except the time, which each dialect writes its own way.</summary>
    public static IEnumerable<(string Name, object? Value)> Parameters(AgentDeadLetter d) =>
    [
        ("@instance_id", d.InstanceId),
        ("@chat_id", d.ChatId),
        ("@message_id", d.MessageId),
        ("@message_ids", JsonSerializer.Serialize(d.MessageIds)),
        ("@sender", d.From),
        ("@text", d.Text),
        ("@media", JsonSerializer.Serialize(d.Media, MediaJson)),
        ("@backend", d.Backend),
        ("@agent_id", d.AgentId),
        ("@reason", d.Reason),
        ("@status_code", d.StatusCode),
        ("@error", d.Error),
        ("@attempts", d.Attempts),
    ];

    public static AgentDeadLetter Read(DbDataReader r, Func<DbDataReader, int, DateTimeOffset> time) => new()
    {
        Id = r.GetInt64(0),
        InstanceId = r.GetString(1),
        ChatId = r.GetString(2),
        MessageId = r.GetString(3),
        MessageIds = JsonSerializer.Deserialize<string[]>(r.GetString(4)) ?? [],
        From = r.IsDBNull(5) ? null : r.GetString(5),
        IsGroup = r.GetBoolean(6),
        Text = r.GetString(7),
        Backend = r.GetString(8),
        AgentId = r.IsDBNull(9) ? null : r.GetString(9),
        Reason = r.GetString(10),
        StatusCode = r.IsDBNull(11) ? null : r.GetInt32(11),
        Error = r.GetString(12),
        Attempts = r.GetInt32(13),
        Status = r.GetString(14),
        FailedAt = time(r, 15),
        ResolvedAt = r.IsDBNull(16) ? null : time(r, 16),
        Media = JsonSerializer.Deserialize<MediaRef[]>(r.GetString(17), MediaJson) ?? [],
    };
}
