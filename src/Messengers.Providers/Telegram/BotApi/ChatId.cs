using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Messengers.Providers.Telegram.BotApi;

/// <summary>A <c>chat_id</c> parameter: a numeric id or a public <c>@username</c>.</summary>
[JsonConverter(typeof(ChatIdConverter))]
public readonly record struct ChatId
{
    public ChatId(long id)
    {
        Id = id;
    }

    public ChatId(string username)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        Username = username.StartsWith('@') ? username : "@" + username;
    }

    /// <summary>Set when the chat is addressed by numeric id.</summary>
    public long? Id { get; }

    /// <summary>Set when the chat is addressed as <c>@username</c>.</summary>
    public string? Username { get; }

    public static implicit operator ChatId(long id) => new(id);

    public static implicit operator ChatId(string username) => new(username);

    public static ChatId FromInt64(long id) => new(id);

    public override string ToString() => Id is { } id ? id.ToString(CultureInfo.InvariantCulture) : Username ?? "";
}

internal sealed class ChatIdConverter : JsonConverter<ChatId>
{
    public override ChatId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number => new ChatId(reader.GetInt64()),
            JsonTokenType.String when long.TryParse(reader.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) => new ChatId(id),
            JsonTokenType.String => new ChatId(reader.GetString()!),
            _ => throw new JsonException("chat_id must be a number or a string"),
        };

    public override void Write(Utf8JsonWriter writer, ChatId value, JsonSerializerOptions options)
    {
        if (value.Id is { } id)
        {
            writer.WriteNumberValue(id);
        }
        else
        {
            writer.WriteStringValue(value.Username);
        }
    }
}
