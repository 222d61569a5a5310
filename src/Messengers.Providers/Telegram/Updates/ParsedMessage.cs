using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Telegram.Updates;

/// <summary>The parts of an incoming Telegram message the gateway cares about.</summary>
public sealed record ParsedMessage(
    long UpdateId,
    UpdateMessageKind Kind,
    long ChatId,
    ChatType ChatType,
    string? ChatTitle,
    long MessageId,
    DateTimeOffset Date,
    MessageSender? Sender,
    string? Text,
    string? Caption,
    IReadOnlyList<MediaReference> Media,
    long? ReplyToMessageId,
    string? MediaGroupId)
{
    /// <summary>The text, or the caption of a media message.</summary>
    public string? TextOrCaption => Text ?? Caption;

    public bool IsPrivate => ChatType == ChatType.Private;

    public bool IsGroup => ChatType is ChatType.Group or ChatType.Supergroup;
}
