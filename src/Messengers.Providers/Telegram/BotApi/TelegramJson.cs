using System.Text.Json;
using System.Text.Json.Serialization;

namespace Messengers.Providers.Telegram.BotApi;

/// <summary>Serializer settings for Bot API objects: snake_case names, nulls omitted, unknown fields ignored.</summary>
public static class TelegramJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNameCaseInsensitive = false,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Reads one webhook body.</summary>
    public static Update? DeserializeUpdate(string json) => JsonSerializer.Deserialize<Update>(json, Options);

    public static ValueTask<Update?> DeserializeUpdateAsync(Stream json, CancellationToken cancellationToken = default) =>
        JsonSerializer.DeserializeAsync<Update>(json, Options, cancellationToken);

    internal static string Format(ParseMode mode) => mode switch
    {
        ParseMode.Html => "HTML",
        ParseMode.MarkdownV2 => "MarkdownV2",
        ParseMode.Markdown => "Markdown",
        _ => "",
    };

    internal static string Format(ChatAction action) => action switch
    {
        ChatAction.Typing => "typing",
        ChatAction.UploadPhoto => "upload_photo",
        ChatAction.RecordVideo => "record_video",
        ChatAction.UploadVideo => "upload_video",
        ChatAction.RecordVoice => "record_voice",
        ChatAction.UploadVoice => "upload_voice",
        ChatAction.UploadDocument => "upload_document",
        ChatAction.ChooseSticker => "choose_sticker",
        ChatAction.FindLocation => "find_location",
        ChatAction.RecordVideoNote => "record_video_note",
        ChatAction.UploadVideoNote => "upload_video_note",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };
}
