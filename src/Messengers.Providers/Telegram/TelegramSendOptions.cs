using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Telegram;

/// <summary>
/// Telegram send options carried in <c>OutgoingMessage.Options</c>, from the MCP tool send_telegram_message and the
/// REST send body alike: keys, the values accepted, and how they become Bot API parameters.
/// </summary>
public static class TelegramSendOptions
{
    public const string ParseModeKey = "parseMode";
    public const string SilentKey = "silent";
    public const string DisableLinkPreviewKey = "disableLinkPreview";

    /// <summary>The parse modes the Bot API accepts, spelled as it documents them ("" is plain text).</summary>
    public static IReadOnlyList<string> ParseModes { get; } = ["", "HTML", "Markdown", "MarkdownV2"];

    /// <summary>The canonical spelling of <paramref name="value"/> (case-insensitive), or null when it is no parse mode.</summary>
    public static string? NormalizeParseMode(string? value) =>
        ParseModes.FirstOrDefault(m => string.Equals(m, (value ?? "").Trim(), StringComparison.OrdinalIgnoreCase));

    public static ParseMode ParseModeOf(IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.TryGetValue(ParseModeKey, out var mode) && Enum.TryParse<ParseMode>(mode, ignoreCase: true, out var parsed) ? parsed : ParseMode.None;
    }

    public static bool SilentOf(IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.TryGetValue(SilentKey, out var value) && bool.TryParse(value, out var silent) && silent;
    }

    /// <summary>link_preview_options with is_disabled when asked for; null leaves Telegram's default (a preview).</summary>
    public static LinkPreviewOptions? LinkPreviewOf(IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.TryGetValue(DisableLinkPreviewKey, out var value) && bool.TryParse(value, out var disabled) && disabled
            ? new LinkPreviewOptions { IsDisabled = true }
            : null;
    }
}
