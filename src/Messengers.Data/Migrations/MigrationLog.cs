using Microsoft.Extensions.Logging;

namespace Messengers.Data.Migrations;

internal static partial class MigrationLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Migration} to {Database} in {ElapsedMs} ms")]
    public static partial void Applied(ILogger logger, string migration, string database, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schema of {Database} is up to date at version {Version} ({Applied} applied now)")]
    public static partial void UpToDate(ILogger logger, string database, int version, int applied);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Database} has migration {Version} ({Name}) that this build does not know; a newer build applied it")]
    public static partial void UnknownApplied(ILogger logger, string database, int version, string name);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Waiting for the migration lock of {Database}")]
    public static partial void WaitingForLock(ILogger logger, string database);
}
