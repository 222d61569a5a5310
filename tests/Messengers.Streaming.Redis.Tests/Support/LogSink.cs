using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>Log lines of a test cluster, tagged with the silo that wrote them.</summary>
public sealed class LogSink
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    public void Add(LogLine line) => _lines.Enqueue(line);

    public IReadOnlyList<LogLine> Of(string? silo = null, int? eventId = null, LogLevel? level = null)
        => [.. _lines.Where(l => (silo is null || l.Silo == silo) && (eventId is null || l.EventId == eventId) && (level is null || l.Level == level))];
}
