using Microsoft.Extensions.Logging;

namespace Messengers.Providers.Telegram.BotApi;

internal static partial class TelegramClientLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram {Method} answered {StatusCode} in {ElapsedMs:0} ms")]
    public static partial void Call(ILogger logger, string method, int statusCode, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram {Method} got no answer: {Reason}")]
    public static partial void Failed(ILogger logger, string method, string reason);
}
