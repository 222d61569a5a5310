namespace Messengers.Providers.Telegram.Updates;

/// <summary>What kind of file a <see cref="MediaReference"/> points at.</summary>
public enum MediaKind
{
    Photo,
    Document,
    Audio,
    Video,
    Voice,
    Sticker,
}
