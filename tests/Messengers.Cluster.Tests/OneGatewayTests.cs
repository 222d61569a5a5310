using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing;

namespace Messengers.Cluster.Tests;

/// <summary>
/// Three silos are one gateway: whichever silo a request reaches, it sees and changes the same instance, at once.
/// </summary>
public sealed class OneGatewayTests : ClusterProcessTests
{
    [Fact]
    public async Task Instance_ChangedThroughAnySilo_SameThroughEverySiloAtOnce()
    {
        var silos = await StartClusterAsync(3);
        var admins = silos.Select(s => Client(s, AdminKey)).ToList();

        // Created through silo 1, seen identically through 2 and 3.
        var (id, key) = await CreateInstanceAsync(admins[0], new { name = "matrix", provider = "webchat", agent = new { backend = "echo" }, start = true });
        await WaitForStatusAsync(admins[0], id, "Ready");
        foreach (var admin in admins)
        {
            var seen = await InstanceAsync(admin, id);
            Assert.Equal("matrix", seen.GetProperty("name").GetString());
            Assert.Equal("Ready", seen.GetProperty("status").GetString());
            var list = await admin.GetFromJsonAsync<JsonElement>(new Uri("api/v1/instances", UriKind.Relative), Cancel);
            Assert.Contains(list.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == id);
        }

        // Stopped through silo 2: silo 3 says so on the next request, no waiting.
        (await admins[1].PostAsync(new Uri($"api/v1/instances/{id}/stop", UriKind.Relative), null, Cancel)).EnsureSuccessStatusCode();
        Assert.Equal("Stopped", (await InstanceAsync(admins[2], id)).GetProperty("status").GetString());
        Assert.Equal("Stopped", (await InstanceAsync(admins[0], id)).GetProperty("status").GetString());
        (await admins[2].PostAsync(new Uri($"api/v1/instances/{id}/start", UriKind.Relative), null, Cancel)).EnsureSuccessStatusCode();
        await WaitForStatusAsync(admins[1], id, "Ready");

        // A visitor writes through every silo; the dialog (and the echo agent's answers) is the same through each.
        for (var i = 0; i < silos.Count; i++)
        {
            using var visitor = Client(silos[i], key: null);
            var posted = await visitor.PostAsJsonAsync(new Uri($"webchat/{id}/messages", UriKind.Relative), new { visitorId = "matrix-visitor", text = $"hello via {i + 1}" }, Cancel);
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var dialog = await Eventually.UntilAsync(() => BodiesAsync(admins[2], id, "matrix-visitor"), b => b.Count == 6, TimeSpan.FromSeconds(30), "three questions and three answers");
        foreach (var admin in admins)
        {
            Assert.Equal(dialog, await BodiesAsync(admin, id, "matrix-visitor"));
        }

        Assert.Equal(3, dialog.Count(b => b.StartsWith("Echo: hello via", StringComparison.Ordinal)));
        var counters = await Eventually.UntilAsync(() => InstanceAsync(admins[0], id), i => i.GetProperty("counters").GetProperty("messagesIn").GetInt64() == 3, TimeSpan.FromSeconds(15), "counters");
        foreach (var admin in admins)
        {
            Assert.Equal(counters.GetProperty("counters").GetRawText(), (await InstanceAsync(admin, id)).GetProperty("counters").GetRawText());
        }

        // The instance's key works through every silo; rotated through silo 2, the old one is refused by all at once.
        foreach (var silo in silos)
        {
            using var owner = Client(silo, key);
            Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(new Uri($"api/v1/instances/{id}", UriKind.Relative), Cancel)).StatusCode);
        }

        var rotated = await admins[1].PostAsync(new Uri($"api/v1/instances/{id}/apikey", UriKind.Relative), null, Cancel);
        var newKey = (await rotated.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("apiKey").GetString()!;
        foreach (var silo in silos)
        {
            using var old = Client(silo, key);
            Assert.Equal(HttpStatusCode.Unauthorized, (await old.GetAsync(new Uri($"api/v1/instances/{id}", UriKind.Relative), Cancel)).StatusCode);
            using var owner = Client(silo, newKey);
            Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(new Uri($"api/v1/instances/{id}", UriKind.Relative), Cancel)).StatusCode);
        }

        // MCP through each silo sees the same instance, and a stop through MCP on silo 3 is seen by REST on silo 1.
        foreach (var silo in silos)
        {
            var status = await CallMcpToolAsync(silo, newKey, "get_instance_status", new { instance = id });
            Assert.Contains("Ready", status, StringComparison.Ordinal);
        }

        await CallMcpToolAsync(silos[2], AdminKey, "stop_instance", new { instance = id });
        Assert.Equal("Stopped", (await InstanceAsync(admins[0], id)).GetProperty("status").GetString());
        var listed = await CallMcpToolAsync(silos[1], AdminKey, "list_instances", new { });
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.Contains("Stopped", listed, StringComparison.Ordinal);

        foreach (var admin in admins)
        {
            admin.Dispose();
        }
    }
}
