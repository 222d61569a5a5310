using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Messengers.Testing.Fakes;

/// <summary>
/// A real Kestrel server on 127.0.0.1 with an OS-chosen port, running one request handler. <see cref="StopAsync"/>
/// closes the socket (callers then get "connection refused"); <see cref="RestartAsync"/> listens again on the same
/// port. <see cref="Faults"/> answers requests with errors or delays before the handler sees them.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly RequestDelegate _handler;
    private readonly Lock _lock = new();
    private WebApplication? _app;
    private int _port;
    private int _requestCount;

    private LoopbackHttpServer(RequestDelegate handler) => _handler = handler;

    /// <summary>Errors and delays applied to the next requests.</summary>
    public FakeFaults Faults { get; } = new();

    /// <summary><c>http://127.0.0.1:{port}</c>, no trailing slash.</summary>
    public string BaseUrl => $"http://127.0.0.1:{_port}";

    public int Port => _port;

    /// <summary>Requests that reached the server, faulted ones included.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    public bool IsListening
    {
        get
        {
            lock (_lock)
            {
                return _app is not null;
            }
        }
    }

    public static async Task<LoopbackHttpServer> StartAsync(RequestDelegate handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var server = new LoopbackHttpServer(handler);
        await server.ListenAsync(0);
        return server;
    }

    /// <summary>Stops listening: the port refuses connections until <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        WebApplication? app;
        lock (_lock)
        {
            app = _app;
            _app = null;
        }

        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public Task RestartAsync() => IsListening ? Task.CompletedTask : ListenAsync(_port);

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task ListenAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _port = new Uri(address).Port;
        lock (_lock)
        {
            _app = app;
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requestCount);
        if (Faults.TakeDelay() is { } delay && delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (Faults.TakeFault() is { } fault)
        {
            context.Response.StatusCode = fault.StatusCode;
            if (fault.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = fault.RetryAfter;
            }

            await context.Response.WriteAsJsonAsync(new { detail = $"fake fault {fault.StatusCode}" });
            return;
        }

        await _handler(context);
    }
}

/// <summary>An injected answer: a status and an optional <c>Retry-After</c> value.</summary>
public sealed record FakeFault(int StatusCode, string? RetryAfter);

/// <summary>Thread-safe fault plan of a fake server.</summary>
public sealed class FakeFaults
{
    private readonly Lock _lock = new();
    private readonly Queue<FakeFault> _next = new();
    private FakeFault? _always;

    /// <summary>Delay before every answer ("slow" mode). Zero by default.</summary>
    public TimeSpan ReplyDelay { get; set; }

    /// <summary>Answers the next <paramref name="count"/> requests with <paramref name="statusCode"/>, then serves normally.</summary>
    public void FailNext(int count, int statusCode = 500) => Enqueue(count, new FakeFault(statusCode, null));

    /// <summary>Answers the next <paramref name="count"/> requests with 429 and this <c>Retry-After</c> (seconds or an HTTP-date).</summary>
    public void RateLimitNext(int count, string retryAfter) => Enqueue(count, new FakeFault(429, retryAfter));

    /// <summary>Answers every request with <paramref name="statusCode"/> until <see cref="Clear"/>.</summary>
    public void FailAlways(int statusCode = 500)
    {
        lock (_lock)
        {
            _always = new FakeFault(statusCode, null);
        }
    }

    /// <summary>Back to normal: no queued faults, no delay.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _next.Clear();
            _always = null;
            ReplyDelay = TimeSpan.Zero;
        }
    }

    internal TimeSpan? TakeDelay() => ReplyDelay;

    internal FakeFault? TakeFault()
    {
        lock (_lock)
        {
            return _next.Count > 0 ? _next.Dequeue() : _always;
        }
    }

    private void Enqueue(int count, FakeFault fault)
    {
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                _next.Enqueue(fault);
            }
        }
    }
}
