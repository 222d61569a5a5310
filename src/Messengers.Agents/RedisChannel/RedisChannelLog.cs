using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Messengers.Agents.RedisChannel;

/// <summary>Source-generated log messages of the Redis channel backend. Endpoints are <c>host:port</c> only: never a password.</summary>
internal static partial class RedisChannelLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to Redis at {Endpoint} for agent channels")]
    public static partial void Connected(this ILogger logger, string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis at {Endpoint} is not reachable yet; connecting in the background")]
    public static partial void NotConnectedYet(this ILogger logger, string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {ConnectionType} connection to Redis at {Endpoint} failed ({Error}); reconnecting in the background")]
    public static partial void ConnectionFailed(this ILogger logger, string endpoint, ConnectionType connectionType, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A {ConnectionType} connection attempt to Redis at {Endpoint} failed: {Error}")]
    public static partial void AttemptFailed(this ILogger logger, string endpoint, ConnectionType connectionType, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnected the {ConnectionType} connection to Redis at {Endpoint}")]
    public static partial void Reconnected(this ILogger logger, string endpoint, ConnectionType connectionType);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Closing the Redis agent channels at {Endpoint} failed")]
    public static partial void CloseFailed(this ILogger logger, Exception exception, string endpoint);
}
