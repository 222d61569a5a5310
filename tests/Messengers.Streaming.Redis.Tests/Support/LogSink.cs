using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>Log lines of a test cluster, tagged with the silo that wrote them.</summary>
public sealed class LogSink
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    public void Add(LogLine line) => _lines.Enqueue(line);

    /// <summary>Lines of the provider itself (category <c>Messengers.Streaming.Redis.*</c>), optionally of one silo, event id or level.</summary>
    public IReadOnlyList<LogLine> Provider(string? silo = null, int? eventId = null, LogLevel? level = null, int skip = 0)
        => [.. _lines.Skip(skip).Where(l => l.Category.StartsWith("Messengers.Streaming.Redis", StringComparison.Ordinal)
            && (silo is null || l.Silo == silo) && (eventId is null || l.EventId == eventId) && (level is null || l.Level == level))];
}
