using Microsoft.Extensions.Logging;

namespace Messengers.Data.Postgres;

internal static partial class PostgresLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Database} unreachable while {Operation}; retrying once on a new connection")]
    public static partial void Retrying(ILogger logger, Exception exception, string database, string operation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Database} unreachable while {Operation}")]
    public static partial void Unreachable(ILogger logger, Exception exception, string database, string operation);
}
