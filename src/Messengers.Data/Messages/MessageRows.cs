using System.Globalization;
using System.Text.Json;
using Messengers.Abstractions.Messages;

namespace Messengers.Data.Messages;

/// <summary>How both message stores turn <see cref="ChatMessage"/> fields into column values and back.</summary>
internal static class MessageRows
{
    /// <summary>Largest page of <see cref="IMessageStore.GetMessagesAsync"/> and the listing methods.</summary>
    public const int MaxLimit = 500;

    private const string SqliteTimeFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'";

    public static int ClampLimit(int limit) => Math.Clamp(limit, 1, MaxLimit);

    public static int ClampOffset(int offset) => Math.Max(offset, 0);

    public static void Validate(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(message.InstanceId, nameof(message));
        ArgumentException.ThrowIfNullOrEmpty(message.MessageId, nameof(message));
        ArgumentException.ThrowIfNullOrEmpty(message.ChatId, nameof(message));
        ArgumentNullException.ThrowIfNull(message.Body, nameof(message));
        ArgumentException.ThrowIfNullOrEmpty(message.Type, nameof(message));
    }

    /// <summary>
    /// UTC, truncated to whole microseconds: what PostgreSQL keeps, so both stores return exactly what was stored
    /// and a cursor taken from a returned message matches the stored row.
    /// </summary>
    public static DateTimeOffset Normalize(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - ticks % 10, TimeSpan.Zero);
    }

    public static string ToSqliteTime(DateTimeOffset value) => Normalize(value).ToString(SqliteTimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset FromSqliteTime(string text)
        => DateTimeOffset.ParseExact(text, SqliteTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string AckText(MessageAck ack) => MessageAckNames.Of(ack);

    public static MessageAck ParseAck(string text) => text switch
    {
        "pending" => MessageAck.Pending,
        "sent" => MessageAck.Sent,
        "delivered" => MessageAck.Delivered,
        "read" => MessageAck.Read,
        "failed" => MessageAck.Failed,
        _ => MessageAck.None,
    };

    /// <summary>
    /// The rank an ack must exceed to replace the stored one: none 0, pending and failed 1, sent 2, delivered 3, read 4.
    /// Failed ranks with pending so that a later sent/delivered/read still lands (the messenger delivered after all).
    /// </summary>
    public static int AckRank(MessageAck ack) => ack switch
    {
        MessageAck.Pending or MessageAck.Failed => 1,
        MessageAck.Sent => 2,
        MessageAck.Delivered => 3,
        MessageAck.Read => 4,
        _ => 0,
    };

    /// <summary>The same ranking in SQL (both dialects), applied to the stored <c>ack</c> column.</summary>
    public const string StoredAckRankSql =
        "CASE ack WHEN 'pending' THEN 1 WHEN 'failed' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE 0 END";

    public static string? MediaJson(MediaRef? media)
    {
        if (media is null)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("media_id", media.MediaId);
            json.WriteString("content_type", media.ContentType);
            json.WriteString("file_name", media.FileName);
            json.WriteNumber("size", media.Size);
            json.WriteString("sha256", media.Sha256);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static MediaRef? ParseMedia(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        return new MediaRef(
            String(root, "media_id") ?? "",
            String(root, "content_type") ?? "",
            String(root, "file_name"),
            root.TryGetProperty("size", out var size) && size.ValueKind == JsonValueKind.Number ? size.GetInt64() : 0,
            String(root, "sha256"));
    }

    private static string? String(JsonElement root, string name)
        => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
