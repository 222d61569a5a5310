using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Redis;

internal static partial class RedisLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to Redis at {Endpoint}")]
    public static partial void Connected(ILogger logger, string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnected to Redis at {Endpoint} after {Attempts} attempts")]
    public static partial void Reconnected(ILogger logger, string endpoint, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connecting to Redis at {Endpoint} failed (attempt {Attempt}); retrying in {DelayMs} ms: {Error}")]
    public static partial void ConnectFailed(ILogger logger, string endpoint, int attempt, double delayMs, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the connection to Redis at {Endpoint}: {Error}; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string endpoint, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "A Redis pub/sub handler for {Channel} threw")]
    public static partial void SubscriberHandlerFailed(ILogger logger, Exception exception, string channel);
}
