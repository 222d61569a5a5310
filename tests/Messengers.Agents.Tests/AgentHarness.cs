using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Agents.Tests;

/// <summary>A DI container with <c>AddAgentBackends</c>, fast retry options and captured logs.</summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private AgentHarness(ServiceProvider services, CapturingLoggerProvider logs)
    {
        _services = services;
        Logs = logs;
        Backends = services.GetRequiredService<AgentBackends>();
    }

    public AgentBackends Backends { get; }

    public CapturingLoggerProvider Logs { get; }

    public IAgentBackend Agno => Backends.Get("agno");

    public IAgentBackend OpenAi => Backends.Get("openai");

    public IAgentBackend Http => Backends.Get("http");

    public static AgentHarness Create(Action<AgentBackendOptions>? configure = null, TimeProvider? time = null)
    {
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddAgentBackends(o =>
        {
            o.MaxAttempts = 3;
            o.BaseRetryDelay = TimeSpan.FromMilliseconds(10);
            o.MaxRetryDelay = TimeSpan.FromSeconds(5);
            o.CircuitFailureThreshold = 100;
            o.CircuitBreakDuration = TimeSpan.FromSeconds(30);
            o.DefaultTimeout = TimeSpan.FromSeconds(10);
            configure?.Invoke(o);
        });
        return new AgentHarness(services.BuildServiceProvider(), logs);
    }

    public static AgentRequest Request(
        AgentEndpoint endpoint,
        string text = "hello world",
        string agentId = "support",
        string chatId = "79001234567@c.us",
        IReadOnlyList<AgentAttachment>? attachments = null,
        IReadOnlyList<AgentHistoryTurn>? history = null) =>
        new("inst-1", chatId, agentId, AgentSessionId.For(agentId, chatId), "company-7", text, attachments ?? [], history ?? [], endpoint);

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel}: {formatter(state, exception)}";
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                line += " | " + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"));
            }

            owner._lines.Enqueue(exception is null ? line : line + " | " + exception);
        }
    }
}
