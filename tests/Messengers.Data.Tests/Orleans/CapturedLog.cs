using Microsoft.Extensions.Logging;

namespace Messengers.Data.Tests.Orleans;

/// <summary>One log entry kept by <see cref="CapturedLogs"/>.</summary>
public sealed record CapturedLog(LogLevel Level, string Category, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}: {Message}{(Exception is null ? "" : " | " + Exception.GetType().Name + ": " + Exception.Message)}";
}
