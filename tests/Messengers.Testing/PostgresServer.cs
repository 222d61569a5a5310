using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace Messengers.Testing;

/// <summary>
/// A throwaway PostgreSQL 15 server for tests: initdb into a temp folder owned by <c>postgres</c>, started with
/// pg_ctl on a free loopback port (fsync off), stopped with <c>-m immediate</c> and deleted on dispose.
/// Share one per collection (<c>ICollectionFixture&lt;PostgresServer&gt;</c>) and give each test class its own
/// database with <see cref="CreateDatabaseAsync"/>. Fault tests stop and start it on the same port.
/// Needs the postgresql-15 binaries (tests/run.sh installs them) and root (the server runs as <c>postgres</c> via runuser).
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string DefaultBinFolder = "/usr/lib/postgresql/15/bin";

    private static int _databases;
    private readonly string _bin;
    private string? _folder;

    /// <summary>Uses <see cref="DefaultBinFolder"/>, or the folder named by the MESSENGERS_PG_BIN environment variable.</summary>
    public PostgresServer() => _bin = Environment.GetEnvironmentVariable("MESSENGERS_PG_BIN") ?? DefaultBinFolder;

    public int Port { get; private set; }

    public bool IsRunning { get; private set; }

    /// <summary>The connection string of the <c>postgres</c> maintenance database.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    public string ConnectionStringFor(string database)
        => new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Timeout = 5 }.ToString();

    public async ValueTask InitializeAsync()
    {
        foreach (var tool in new[] { "initdb", "pg_ctl" })
        {
            if (!File.Exists(Path.Combine(_bin, tool)))
            {
                throw new InvalidOperationException(
                    $"PostgreSQL 15 is not installed: {Path.Combine(_bin, tool)} is missing. Install it with 'apt-get install -y postgresql-15' (tests/run.sh does) or set MESSENGERS_PG_BIN to the folder holding initdb and pg_ctl.");
            }
        }

        _folder = Directory.CreateTempSubdirectory("messengers-pg-").FullName;
        if (Environment.IsPrivilegedProcess)
        {
            // PostgreSQL refuses to run as root: the server runs as the postgres user (runuser), in a folder it owns.
            await RunAsync("chown", ["postgres:postgres", _folder], asPostgres: false);
        }

        // A test run that ends without disposing (crash, timeout) must not leave a server behind.
        AppDomain.CurrentDomain.ProcessExit += StopOnExit;
        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", DataFolder, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], asPostgres: true);

        // Another server (or another fixture) may take the port between probing and starting: try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>Creates a new empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? prefix = null)
    {
        var label = new string((prefix ?? "test").ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '_').Take(24).ToArray());
        var name = string.Create(CultureInfo.InvariantCulture, $"{label}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}");
        // Not pooled: a pooled connection would be dead after a StopAsync/StartAsync of a fault test.
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionStringFor(name);
    }

    /// <summary>
    /// Starts the server on <see cref="Port"/> and waits until it accepts connections. fsync is off (the machine does
    /// not crash during a test), but synchronous_commit stays on: an acknowledged commit is in the WAL handed to the OS,
    /// so it survives <see cref="StopAsync"/> (<c>-m immediate</c>, a crash of the server).
    /// </summary>
    public async Task StartAsync()
    {
        var options = string.Create(CultureInfo.InvariantCulture,
            $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300 {Environment.GetEnvironmentVariable("MESSENGERS_PG_OPTIONS")}");
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataFolder, "-l", Path.Combine(_folder!, "server.log"), "-w", "-t", "30", "-o", options, "start"], asPostgres: true);
        IsRunning = true;
    }

    /// <summary>Stops the server at once (<c>-m immediate</c>, like a crash); the data stays.</summary>
    public async Task StopAsync()
    {
        if (_folder is null || !IsRunning)
        {
            return;
        }

        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataFolder, "-m", "immediate", "-w", "stop"], asPostgres: true);
        IsRunning = false;
    }

    /// <summary>Stops (immediately) and starts again on the same port.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_folder is null)
        {
            return;
        }

        try
        {
            await StopAsync();
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }

            _folder = null;
            AppDomain.CurrentDomain.ProcessExit -= StopOnExit;
        }
    }

    private void StopOnExit(object? sender, EventArgs e)
    {
        if (_folder is not null && IsRunning)
        {
            StopAsync().Wait(TimeSpan.FromSeconds(10));
        }
    }

    private string DataFolder => Path.Combine(_folder!, "data");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string fileName, string[] arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres && Environment.IsPrivilegedProcess)
        {
            start.FileName = "runuser";
            foreach (var argument in (string[])["-u", "postgres", "--", fileName])
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}
