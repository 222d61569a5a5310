namespace Messengers.Providers.Telegram;

/// <summary>At most <see cref="Count"/> sends in any window of length <see cref="Per"/>.</summary>
public sealed record RateLimit(int Count, TimeSpan Per)
{
    public static RateLimit PerSecond(int count) => new(count, TimeSpan.FromSeconds(1));

    public static RateLimit PerMinute(int count) => new(count, TimeSpan.FromMinutes(1));
}

/// <summary>
/// Pacing of <see cref="TelegramSendQueue"/>. Defaults follow the Bots FAQ (protocols.md §1.3): one message per
/// second in a private chat, 20 per minute in a group or supergroup, about 30 per second for the whole bot.
/// </summary>
public sealed class TelegramSendQueueOptions
{
    /// <summary>Chats with a positive id (private chats).</summary>
    public RateLimit PrivateChatLimit { get; set; } = RateLimit.PerSecond(1);

    /// <summary>Chats with a negative id (groups, supergroups, channels).</summary>
    public RateLimit GroupChatLimit { get; set; } = RateLimit.PerMinute(20);

    /// <summary>All chats of the bot together.</summary>
    public RateLimit BotLimit { get; set; } = RateLimit.PerSecond(30);

    /// <summary>Wait used when a 429 carries no <c>retry_after</c>.</summary>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A 429 pauses its chat. When another chat also got a 429 within this span, the limit hit is taken to be the
    /// bot-wide one and the whole bot pauses.
    /// </summary>
    public TimeSpan BotWideFloodDetectionWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a send that failed with 5xx is tried again before its task fails. 0 disables retries.</summary>
    public int MaxServerErrorRetries { get; set; } = 3;

    /// <summary>First wait after a 5xx; doubles with each further failure of the same send.</summary>
    public TimeSpan ServerErrorBackoff { get; set; } = TimeSpan.FromSeconds(1);
}
