using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing;
using Messengers.Testing.Fakes.Agno;

namespace Messengers.Cluster.Tests;

/// <summary>
/// A data folder or database made by the version before Orleans (fixtures of commit 906ea32, see Fixtures/Legacy)
/// starts on this version with its instances, keys, credentials, webhooks and history intact.
/// </summary>
public sealed class UpgradeTests : HostProcessTests
{
    private const string AdminKey = "msa_legacy_admin_key_0123456789abcdefghijklmnop";

    [Theory]
    [InlineData("embedded")]
    [InlineData("production")]
    public async Task Start_OnDataOfThePreviousVersion_InstancesKeysCredentialsWebhooksAndHistoryKept(string configuration)
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Legacy", configuration);
        var support = Json(Path.Combine(fixture, "support.json"));
        var bot = Json(Path.Combine(fixture, "bot.json"));
        var webhook = Json(Path.Combine(fixture, "webhook.json"));
        var supportId = support.GetProperty("id").GetString()!;
        var supportKey = support.GetProperty("apiKey").GetString()!;
        var settings = await SettingsAsync(configuration, AdminKey, database => RestoreAsync(database, Path.Combine(fixture, "legacy.sql")));
        foreach (var file in Directory.GetFiles(Path.Combine(fixture, "data")))
        {
            File.Copy(file, Path.Combine(settings["Messengers__DataPath"], Path.GetFileName(file)));
        }

        settings["Logging__LogLevel__Messengers.Host.Hosting.LegacyGrainStateUpgrade"] = "Information";
        var host = await StartHostAsync(settings);
        using var admin = Client(host, AdminKey);
        using var owner = Client(host, supportKey);

        // Instances, with their desired state, counters and credentials; the instance's own key still works.
        var instances = (await admin.GetFromJsonAsync<JsonElement>(new Uri("api/v1/instances", UriKind.Relative), Cancel)).GetProperty("items").EnumerateArray().ToList();
        var upgraded = instances.Single(i => i.GetProperty("id").GetString() == supportId);
        Assert.Equal("Support", upgraded.GetProperty("name").GetString());
        Assert.Equal("Running", upgraded.GetProperty("desiredState").GetString());
        Assert.Equal(2, upgraded.GetProperty("counters").GetProperty("messagesIn").GetInt64());
        Assert.Equal(["agentApiKey"], upgraded.GetProperty("credentialNames").EnumerateArray().Select(c => c.GetString()));
        var stopped = instances.Single(i => i.GetProperty("id").GetString() == bot.GetProperty("id").GetString());
        Assert.Equal("Stopped", stopped.GetProperty("desiredState").GetString());
        Assert.Equal(["botToken"], stopped.GetProperty("credentialNames").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(new Uri($"api/v1/instances/{supportId}", UriKind.Relative), Cancel)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.GetAsync(new Uri($"api/v1/instances/{stopped.GetProperty("id").GetString()}", UriKind.Relative), Cancel)).StatusCode);

        // The instance resumed by itself, its webhook and history are there, and the human still has chat v2.
        await Eventually.UntilAsync(async () => (await owner.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{supportId}", UriKind.Relative), Cancel)).GetProperty("status").GetString() == "Ready", 30, "Support ready");
        var hook = Assert.Single((await owner.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{supportId}/webhooks", UriKind.Relative), Cancel)).GetProperty("items").EnumerateArray());
        Assert.Equal(webhook.GetProperty("id").GetString(), hook.GetProperty("id").GetString());
        Assert.Equal(webhook.GetProperty("url").GetString(), hook.GetProperty("url").GetString());
        Assert.Equal(["Echo: second question", "second question", "Echo: hello there", "hello there"], await BodiesAsync(owner, supportId, "v1"));

        // The encrypted agent key still decrypts: the agent now called gets it.
        var agno = Keep(await FakeAgnoServer.StartAsync());
        var patched = await owner.PatchAsJsonAsync(new Uri($"api/v1/instances/{supportId}", UriKind.Relative), new { agent = new { backend = "agno", agentId = "support", baseUrl = agno.BaseUrl } }, Cancel);
        patched.EnsureSuccessStatusCode();
        using var visitor = Client(host, key: null);
        await visitor.PostAsJsonAsync(new Uri($"webchat/{supportId}/messages", UriKind.Relative), new { visitorId = "v2", text = "still a human here?" }, Cancel);
        await visitor.PostAsJsonAsync(new Uri($"webchat/{supportId}/messages", UriKind.Relative), new { visitorId = "v3", text = "after the upgrade" }, Cancel);
        await Eventually.UntilAsync(async () => (await BodiesAsync(owner, supportId, "v3")).Count == 2, 30, "v3 answered");
        Assert.Equal("Bearer agent-secret-legacy", Assert.Single(agno.Requests).Authorization);
        Assert.Equal(["still a human here?"], await BodiesAsync(owner, supportId, "v2"));

        // A second start does not carry anything over again.
        Assert.Contains("Carried", host.Output, StringComparison.Ordinal);
        await host.KillAsync();
        var again = await StartHostAsync(settings);
        using var ownerAgain = Client(again, supportKey);
        Assert.Equal(4, (await BodiesAsync(ownerAgain, supportId, "v1")).Count);
        Assert.DoesNotContain("Carried", again.Output, StringComparison.Ordinal);
    }

    /// <summary>Loads a pg_dump file with psql into the database of <paramref name="connectionString"/>.</summary>
    private static async Task RestoreAsync(string connectionString, string dump)
    {
        var parts = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        var psql = Path.Combine(Environment.GetEnvironmentVariable("MESSENGERS_PG_BIN") ?? PostgresServer.DefaultBinFolder, "psql");
        var start = new ProcessStartInfo(psql) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-h", parts.Host!, "-p", parts.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", parts.Username!, "-d", parts.Database!, "-v", "ON_ERROR_STOP=1", "-q", "-f", dump })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var errors = await process.StandardError.ReadToEndAsync(Cancel);
        await process.WaitForExitAsync(Cancel);
        Assert.True(process.ExitCode == 0, $"psql failed: {errors}");
    }

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
}
