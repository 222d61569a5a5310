using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Messengers.Testing;

/// <summary>
/// A throwaway redis-server on a random loopback port, started as a child process: no persistence by default
/// (<c>--save '' --appendonly no</c>), or an append-only file fsynced on every write in a temp folder when
/// <see cref="Persistent"/> (for tests that kill and restart the server and expect the data back).
/// Use as a class fixture (<c>IClassFixture&lt;RedisServer&gt;</c>) or start one per test with <see cref="StartAsync"/>.
/// Disposal kills that process (and only it) and deletes the folder.
/// </summary>
public class RedisServer : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "messengers-redis-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly StringBuilder _output = new();
    private Process? _process;

    public RedisServer() : this(persistent: false) { }

    protected RedisServer(bool persistent) => Persistent = persistent;

    public bool Persistent { get; }

    public int Port { get; private set; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The redis-server process id (0 when not running).</summary>
    public int ProcessId => _process is { HasExited: false } p ? p.Id : 0;

    public static async Task<RedisServer> StartAsync(bool persistent = false)
    {
        var server = new RedisServer(persistent);
        await server.InitializeAsync();
        return server;
    }

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public async ValueTask InitializeAsync()
    {
        var executable = FindExecutable("redis-server")
            ?? throw new InvalidOperationException("redis-server was not found on PATH. Install it (Debian: `apt-get install -y redis-server`; tests/run.sh does this) and run the tests again.");
        Directory.CreateDirectory(_directory);
        Port = FreePort();
        await StartProcessAsync(executable);
    }

    /// <summary>Kills the server at once (SIGKILL): no shutdown, connected clients see the connection drop.</summary>
    public async Task KillAsync()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
    }

    /// <summary>Kills the server if it runs and starts it again on the same port (with the same data folder).</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        await StartProcessAsync(FindExecutable("redis-server")!);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }

    private async Task StartProcessAsync(string executable)
    {
        lock (_output)
        {
            _output.Clear(); // a restart waits for its own process's "ready" line
        }

        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        string[] args = ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--daemonize", "no", "--dir", _directory];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (Persistent)
        {
            foreach (var arg in (string[])["--appendonly", "yes", "--appendfsync", "always"])
            {
                start.ArgumentList.Add(arg);
            }
        }
        else
        {
            start.ArgumentList.Add("--appendonly");
            start.ArgumentList.Add("no");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Generous: on a loaded 2-core machine running several test assemblies, a just-started server has been seen
        // to answer only after more than 10 s.
        var deadline = Stopwatch.StartNew();
        var attempts = 0;
        while (deadline.Elapsed < StartTimeout)
        {
            attempts++;
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {Port}: {Output()}");
            }

            // Redis prints this once it listens; on a starved thread pool a PING with its 1 s limit can fail for 30 s.
            if (Output().Contains("Ready to accept connections", StringComparison.Ordinal) || await PingAsync(Port))
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {StartTimeout.TotalSeconds:N0} s ({attempts} attempts): {Output()}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    private static async Task<bool> PingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception exception) when (exception is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindExecutable(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A <see cref="RedisServer"/> with an append-only file fsynced on every write: data survives <see cref="RedisServer.RestartAsync"/>.</summary>
public sealed class PersistentRedisServer : RedisServer
{
    public PersistentRedisServer() : base(persistent: true) { }
}
