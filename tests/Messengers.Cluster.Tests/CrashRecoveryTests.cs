using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing;
using Messengers.Testing.Fakes.Agno;

namespace Messengers.Cluster.Tests;

/// <summary>
/// The promise of the agent turn: a turn in flight when the process dies is answered after the restart, exactly once.
/// A real host process is killed with SIGKILL while a slow agent is answering visitors, then started again on the
/// same data.
/// </summary>
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private const string AdminKey = "msa_crash_test_0123456789abcdefghijklmnopqrstuv";
    private const int Visitors = 40;

    private readonly PostgresServer _postgres = new();
    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly List<string> _folders = [];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await _postgres.InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await _postgres.DisposeAsync();
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
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("production")]
    public async Task AgentTurns_HostKilledWhileTheAgentAnswers_EachAnsweredExactlyOnceAfterRestart(string configuration)
    {
        var agno = await FakeAgnoServer.StartAsync();
        _disposables.Add(agno);
        agno.Faults.ReplyDelay = TimeSpan.FromSeconds(4);
        var settings = await SettingsAsync(configuration);

        var first = new HostProcess(settings);
        _disposables.Add(first);
        await first.StartAsync(Cancel);
        using var admin = Client(first, AdminKey);
        var created = await admin.PostAsJsonAsync(
            new Uri("api/v1/instances", UriKind.Relative),
            new { name = "crash", provider = "webchat", agent = new { backend = "agno", agentId = "support", baseUrl = agno.BaseUrl } },
            Cancel);
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetString()!;

        using var visitor = Client(first, key: null);
        for (var i = 0; i < Visitors; i++)
        {
            var posted = await visitor.PostAsJsonAsync(new Uri($"webchat/{id}/messages", UriKind.Relative), new { visitorId = $"visitor-{i}", text = $"question {i}" }, Cancel);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, posted.StatusCode);
        }

        // Every turn is at the agent, none answered yet: the process dies now.
        await Eventually.UntilAsync(() => Task.FromResult(agno.RequestCount >= Visitors), 30, "all turns at the agent");
        await first.KillAsync();
        var askedBeforeCrash = agno.RequestCount;

        var second = new HostProcess(settings);
        _disposables.Add(second);
        await second.StartAsync(Cancel);
        using var after = Client(second, AdminKey);

        for (var i = 0; i < Visitors; i++)
        {
            var chat = $"visitor-{i}";
            var replies = await Eventually.UntilAsync(() => RepliesAsync(after, id, chat), r => r.Count >= 1, TimeSpan.FromSeconds(60), $"a reply to {chat}");
            Assert.Equal([$"agno:question {i}"], replies);
        }

        // Late duplicates would have arrived by now (the agent answers in 4 s).
        await Task.Delay(TimeSpan.FromSeconds(5), Cancel);
        for (var i = 0; i < Visitors; i++)
        {
            Assert.Single(await RepliesAsync(after, id, $"visitor-{i}"));
        }

        var deadLetters = await after.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{id}/agent/dead-letters", UriKind.Relative), Cancel);
        Assert.Equal(0, deadLetters.GetProperty("items").GetArrayLength());
        Assert.True(agno.RequestCount >= askedBeforeCrash + Visitors, $"the turns were asked again after the restart ({agno.RequestCount} calls)");
    }

    private async Task<Dictionary<string, string>> SettingsAsync(string configuration)
    {
        var folder = Directory.CreateTempSubdirectory("messengers-crash-").FullName;
        _folders.Add(folder);
        var settings = new Dictionary<string, string>
        {
            // A restarted silo keeps its address, as a node restarted in place does: Orleans then retires the dead
            // process's membership entry at once instead of waiting to hear from it.
            ["Orleans__Endpoints__SiloPort"] = HostProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans__Endpoints__GatewayPort"] = HostProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Messengers__DataPath"] = folder,
            ["Messengers__AdminKey"] = AdminKey,
            ["Messengers__Storage"] = "sqlite",
            ["Messengers__Streams"] = "memory",
        };
        if (configuration == "production")
        {
            var redis = await RedisServer.StartAsync();
            _disposables.Add(redis);
            settings["Messengers__Storage"] = "postgres";
            settings["Messengers__Streams"] = "redis";
            settings["ConnectionStrings__Postgres"] = await _postgres.CreateDatabaseAsync("crash");
            settings["ConnectionStrings__Redis"] = redis.ConnectionString;
        }

        return settings;
    }

    private static HttpClient Client(HostProcess host, string? key)
    {
        var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    private static async Task<List<string>> RepliesAsync(HttpClient client, string id, string chatId)
    {
        var page = await client.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{id}/chats/{chatId}/messages?limit=50", UriKind.Relative), Cancel);
        return [.. page.GetProperty("items").EnumerateArray().Where(m => m.GetProperty("fromMe").GetBoolean()).Select(m => m.GetProperty("body").GetString()!)];
    }
}
