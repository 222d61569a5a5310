using Microsoft.Extensions.Logging;

namespace Messengers.Data.Sqlite;

internal static partial class SqliteLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "A write batch of {Count} on {Database} failed and was rolled back")]
    public static partial void BatchFailed(ILogger logger, Exception exception, int count, string database);

    [LoggerMessage(Level = LogLevel.Information, Message = "Opened {Database} (journal mode {JournalMode})")]
    public static partial void Opened(ILogger logger, string database, string journalMode);
}
