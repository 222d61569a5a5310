using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// A logger provider that keeps every entry at Warning or above in memory, so a test can show a silo's complaints when
/// it fails and can assert that a path logged no error.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    /// <summary>Error and Critical entries whose category contains <paramref name="category"/>.</summary>
    public IReadOnlyList<CapturedLog> Errors(string category = "")
        => [.. _entries.Where(e => e.Level >= LogLevel.Error && e.Category.Contains(category, StringComparison.Ordinal))];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>The entries as text, one a line, for assertion messages.</summary>
    public override string ToString() => string.Join(Environment.NewLine, _entries);

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception));
            }
        }
    }
}
