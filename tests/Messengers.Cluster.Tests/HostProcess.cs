using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Messengers.Cluster.Tests;

/// <summary>
/// One Messengers host as a real process (<c>dotnet Messengers.Host.dll</c>, the build of this configuration) with
/// the given settings as environment variables, on free loopback ports. It can be killed without warning (SIGKILL)
/// and started again with the same settings; its output is kept for failure messages.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _settings;
    private readonly StringBuilder _output = new();
    private Process? _process;

    public HostProcess(IReadOnlyDictionary<string, string> settings)
    {
        _settings = new Dictionary<string, string>(settings, StringComparer.Ordinal);
        Port = FreePort();
        _settings["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";
        _settings.TryAdd("Orleans__Endpoints__SiloPort", FreePort().ToString(CultureInfo.InvariantCulture));
        _settings.TryAdd("Orleans__Endpoints__GatewayPort", FreePort().ToString(CultureInfo.InvariantCulture));
    }

    public int Port { get; }

    /// <summary>The settings it runs with, its silo and gateway ports included: a restart with them keeps its address.</summary>
    public IReadOnlyDictionary<string, string> Settings => _settings;

    /// <summary>The silo's name (<c>Orleans__Name</c>), when set.</summary>
    public string? Name => _settings.GetValueOrDefault("Orleans__Name");

    public Uri BaseAddress => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The host's build output: src/Messengers.Host/bin/{configuration}/net10.0, found from this test's own.</summary>
    public static string HostDirectory
    {
        get
        {
            // tests/Messengers.Cluster.Tests/bin/{configuration}/{tfm}/
            var own = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var tfm = own.Name;
            var configuration = own.Parent!.Name;
            var root = own.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            return Path.Combine(root, "src", "Messengers.Host", "bin", configuration, tfm);
        }
    }

    /// <summary>Starts the process and waits until it answers <c>/health</c>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetFullPath(Path.Combine(HostDirectory, "..", "..", "..")),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(HostDirectory, "Messengers.Host.dll"));
        foreach (var (key, value) in _settings)
        {
            start.Environment[key] = value;
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {process.ExitCode}:\n{Output}");
            }

            try
            {
                if ((await http.GetAsync(new Uri("health", UriKind.Relative), cancellationToken)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new TimeoutException($"The host did not answer /health within 90 s:\n{Output}");
    }

    /// <summary>
    /// SIGTERM, as Kubernetes stops a pod: the host stops gracefully (its silo leaves the cluster, hands its connections
    /// over) and exits; waits up to <paramref name="timeout"/> for that, then kills it.
    /// </summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var signal = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw new TimeoutException($"The host did not stop within {timeout.TotalSeconds:0} s of SIGTERM:\n{Output}");
        }
    }

    /// <summary>SIGKILL: the process gets no chance to finish anything.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
