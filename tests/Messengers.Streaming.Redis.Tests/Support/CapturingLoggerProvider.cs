using Microsoft.Extensions.Logging;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>Writes every log line of one silo into a <see cref="LogSink"/>.</summary>
public sealed class CapturingLoggerProvider(LogSink sink, string silo) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(sink, silo, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string silo, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value;
                }
            }

            sink.Add(new LogLine(silo, category, logLevel, eventId.Id, formatter(state, exception), values));
        }
    }
}
