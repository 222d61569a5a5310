namespace Messengers.Providers.Telegram.Updates;

/// <summary>Who wrote a message: a user, or a chat (channel posts, anonymous admins).</summary>
public sealed record MessageSender(long Id, string DisplayName, string? Username, bool IsBot, bool IsChat);
