using Microsoft.Extensions.Logging;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Replaces Orleans' default fatal error handler, which ends the whole process (Environment.FailFast) when a silo
/// learns that the cluster declared it dead: in a test that would take every other test with it. The error is kept
/// in the silo's <see cref="CapturedLogs"/> instead, and the test disposes the silo.
/// </summary>
public sealed class RecordingFatalErrorHandler(CapturedLogs logs) : IFatalErrorHandler
{
    public bool IsUnexpected(Exception exception) => true;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
        => logs.CreateLogger(nameof(RecordingFatalErrorHandler)).LogCritical(exception, "Fatal error from {Sender}: {Context}", sender?.GetType().Name, context);
}
