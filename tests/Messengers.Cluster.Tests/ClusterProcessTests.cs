using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Messengers.Cluster.Tests;

/// <summary>
/// Several host processes on one throwaway PostgreSQL and Redis: one Orleans cluster, each silo with its own name,
/// silo and gateway ports (<c>Orleans__Endpoints__*</c>), HTTP port and data folder.
/// </summary>
public abstract class ClusterProcessTests : HostProcessTests
{
    protected const string AdminKey = "msa_cluster_test_0123456789abcdefghijklmnopqrs";

    /// <summary>Starts <paramref name="count"/> silos; the first alone (it migrates the database), the others together.</summary>
    protected async Task<List<HostProcess>> StartClusterAsync(int count, IReadOnlyDictionary<string, string>? extra = null)
    {
        var shared = await SettingsAsync("production", AdminKey);
        shared["Messengers__EncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)); // one key for every silo, as a cluster must have
        shared.Remove("Orleans__Endpoints__SiloPort");
        shared.Remove("Orleans__Endpoints__GatewayPort");
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            shared[key] = value;
        }

        var silos = Enumerable.Range(1, count).Select(i => new Dictionary<string, string>(shared)
        {
            ["Orleans__Name"] = $"silo-{i}",
            ["Messengers__DataPath"] = NewFolder(),
        }).ToList();
        var first = await StartHostAsync(silos[0]);
        var others = await Task.WhenAll(silos.Skip(1).Select(StartHostAsync));
        var hosts = new List<HostProcess> { first };
        hosts.AddRange(others);
        await WaitForSilosAsync(hosts[0], count);
        return hosts;
    }

    /// <summary>Starts the host again with its own settings (same silo name and ports), as a restarted pod.</summary>
    protected Task<HostProcess> RestartAsync(HostProcess host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var settings = new Dictionary<string, string>(host.Settings);
        settings.Remove("ASPNETCORE_URLS");
        return StartHostAsync(settings);
    }

    /// <summary>Waits until <paramref name="host"/> sees <paramref name="count"/> active silos.</summary>
    protected static async Task<JsonElement> WaitForSilosAsync(HostProcess host, int count, TimeSpan? timeout = null)
    {
        using var admin = Client(host, AdminKey);
        return await Messengers.Testing.Eventually.UntilAsync(
            () => admin.GetFromJsonAsync<JsonElement>(new Uri("api/v1/cluster", UriKind.Relative), Cancel),
            c => c.GetProperty("silos").GetArrayLength() == count,
            timeout ?? TimeSpan.FromSeconds(60),
            $"{count} active silos");
    }

    /// <summary>Connections per silo name, as the cluster reports them (reports lag up to five seconds).</summary>
    protected static async Task<Dictionary<string, int>> ConnectionsBySiloAsync(HttpClient admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var cluster = await admin.GetFromJsonAsync<JsonElement>(new Uri("api/v1/cluster", UriKind.Relative), Cancel);
        return cluster.GetProperty("silos").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("connections").GetInt32());
    }

    protected static async Task<(string Id, string Key)> CreateInstanceAsync(HttpClient admin, object body)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var created = await admin.PostAsJsonAsync(new Uri("api/v1/instances", UriKind.Relative), body, Cancel);
        var json = await created.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.True(created.IsSuccessStatusCode, $"create answered {(int)created.StatusCode}: {json}");
        return (json.GetProperty("id").GetString()!, json.GetProperty("apiKey").GetString()!);
    }

    protected static Task<JsonElement> InstanceAsync(HttpClient client, string id)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{id}", UriKind.Relative), Cancel);
    }

    protected static async Task<JsonElement> WaitForStatusAsync(HttpClient client, string id, string status, TimeSpan? timeout = null)
        => await Messengers.Testing.Eventually.UntilAsync(
            () => InstanceAsync(client, id),
            i => i.GetProperty("status").GetString() == status,
            timeout ?? TimeSpan.FromSeconds(60),
            $"instance {id} {status}");

    /// <summary>
    /// One MCP tool call over Streamable HTTP as a client does it: initialize (the session id comes back in a header),
    /// the initialized notification, then tools/call; answers the tool result's text.
    /// </summary>
    protected static async Task<string> CallMcpToolAsync(HostProcess host, string key, string tool, object arguments)
    {
        using var mcp = Client(host, key);
        mcp.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        mcp.DefaultRequestHeaders.Accept.ParseAdd("text/event-stream");
        var initialize = await PostMcpAsync(mcp, null, new
        {
            jsonrpc = "2.0",
            id = 1,
            method = "initialize",
            @params = new { protocolVersion = "2025-06-18", capabilities = new { }, clientInfo = new { name = "cluster-test", version = "1.0" } },
        });
        var session = initialize.Response.Headers.GetValues("Mcp-Session-Id").Single();
        await PostMcpAsync(mcp, session, new { jsonrpc = "2.0", method = "notifications/initialized" });
        var call = await PostMcpAsync(mcp, session, new { jsonrpc = "2.0", id = 2, method = "tools/call", @params = new { name = tool, arguments } });
        var result = call.Body.GetProperty("result");
        Assert.False(result.TryGetProperty("isError", out var isError) && isError.GetBoolean(), $"{tool} failed: {result}");
        return string.Concat(result.GetProperty("content").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
    }

    private static async Task<(HttpResponseMessage Response, JsonElement Body)> PostMcpAsync(HttpClient mcp, string? session, object message)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("mcp", UriKind.Relative)) { Content = JsonContent.Create(message) };
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
        }

        var response = await mcp.SendAsync(request, Cancel);
        Assert.True(response.IsSuccessStatusCode, $"MCP answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancel)}");
        var text = await response.Content.ReadAsStringAsync(Cancel);
        if (text.Length == 0)
        {
            return (response, default);
        }

        // A JSON body, or an event stream whose data line carries the answer.
        var json = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? string.Join('\n', text.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].Trim()))
            : text;
        return (response, JsonDocument.Parse(Encoding.UTF8.GetBytes(json)).RootElement.Clone());
    }
}
