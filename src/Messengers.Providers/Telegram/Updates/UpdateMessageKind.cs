namespace Messengers.Providers.Telegram.Updates;

/// <summary>Which field of the Bot API update carried the message.</summary>
public enum UpdateMessageKind
{
    Message,
    EditedMessage,
    ChannelPost,
    EditedChannelPost,
    BusinessMessage,
    EditedBusinessMessage,
}
