using Microsoft.Extensions.Logging;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>One captured log line; <see cref="State"/> holds the structured values.</summary>
public sealed record LogLine(string Silo, string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, object?> State);
