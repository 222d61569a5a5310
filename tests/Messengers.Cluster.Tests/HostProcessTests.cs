using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing;

namespace Messengers.Cluster.Tests;

/// <summary>
/// What tests of real host processes share: a throwaway PostgreSQL server, data folders, the processes and servers to
/// stop afterwards, settings for either configuration, and HTTP clients.
/// </summary>
public abstract class HostProcessTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly List<string> _folders = [];

    protected PostgresServer Postgres { get; } = new();

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await Postgres.InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await Postgres.DisposeAsync();
        foreach (var folder in _folders)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Stopped (or disposed) when the test ends.</summary>
    protected T Keep<T>(T disposable)
        where T : IAsyncDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    /// <summary>
    /// Settings of a new backend: its data folder, the admin key, and for "production" a new database on the test's
    /// PostgreSQL and a Redis of its own. A restarted silo keeps its address (the ports here), as a node restarted in
    /// place does: Orleans then retires the dead process's membership entry at once instead of waiting to hear from it.
    /// </summary>
    protected async Task<Dictionary<string, string>> SettingsAsync(string configuration, string adminKey, Func<string, Task>? prepareDatabase = null)
    {
        var folder = NewFolder();
        var settings = new Dictionary<string, string>
        {
            ["Orleans__Endpoints__SiloPort"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__GatewayPort"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Messengers__DataPath"] = folder,
            ["Messengers__AdminKey"] = adminKey,
        };
        if (configuration == "production")
        {
            var database = await Postgres.CreateDatabaseAsync("hosts");
            if (prepareDatabase is not null)
            {
                await prepareDatabase(database);
            }

            var redis = Keep(await RedisServer.StartAsync());
            settings["Messengers__Storage"] = "postgres";
            settings["Messengers__Streams"] = "redis";
            settings["ConnectionStrings__Postgres"] = database;
            settings["ConnectionStrings__Redis"] = redis.ConnectionString;
        }

        return settings;
    }

    /// <summary>A new empty folder, deleted when the test ends.</summary>
    protected string NewFolder()
    {
        var folder = Directory.CreateTempSubdirectory("messengers-hosts-").FullName;
        _folders.Add(folder);
        return folder;
    }

    /// <summary>Starts a host process with <paramref name="settings"/>; it is killed when the test ends.</summary>
    protected async Task<HostProcess> StartHostAsync(IReadOnlyDictionary<string, string> settings)
    {
        var host = Keep(new HostProcess(settings));
        await host.StartAsync(Cancel);
        return host;
    }

    protected static HttpClient Client(HostProcess host, string? key)
    {
        ArgumentNullException.ThrowIfNull(host);
        var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>The bodies of a chat's stored messages, newest first, or only those the instance sent.</summary>
    protected static async Task<List<string>> BodiesAsync(HttpClient client, string id, string chatId, bool onlyOwn = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        var page = await client.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{id}/chats/{chatId}/messages?limit=50", UriKind.Relative), Cancel);
        return [.. page.GetProperty("items").EnumerateArray().Where(m => !onlyOwn || m.GetProperty("fromMe").GetBoolean()).Select(m => m.GetProperty("body").GetString()!)];
    }
}
