using System.Net;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;

namespace Messengers.Mcp.Tests;

public sealed class McpEndpointTests : IAsyncLifetime
{
    private const string ToolsList = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}""";
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""";
    private const string SessionlessToolsList = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}""";
    private const string Initialized = """{"jsonrpc":"2.0","method":"notifications/initialized"}""";

    private readonly McpHost _host = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData(null)]
    [InlineData("msa_wrong")]
    [InlineData("msk_nosuchinstance_abcdef")]
    public async Task Post_WithoutValidKey_Returns401WithWwwAuthenticate(string? key)
    {
        using var http = _host.Raw(key);
        var response = await PostAsync(http, ToolsList);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        foreach (var path in new[] { "/sse", "/message?sessionId=x" })
        {
            var other = path == "/sse" ? await http.GetAsync(path, McpHost.Ct) : await http.PostAsync(path, Json(ToolsList), McpHost.Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
        }
    }

    [Fact]
    public async Task SdkClient_WithoutKey_CannotConnect()
        => await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var client = await _host.ConnectAsync(key: null);
            await client.ListToolsAsync(cancellationToken: McpHost.Ct);
        });

    [Fact]
    public async Task AllowAnonymous_Configured_AnswersWithoutKey()
    {
        await using var open = new McpHost(new Dictionary<string, string?> { ["Messengers:Mcp:AllowAnonymous"] = "true" });
        await using var client = await open.ConnectAsync(key: null);
        Assert.StartsWith("Found 0 instances", await client.CallTextAsync("list_instances"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_AuthMatrix_InstanceKeyScopedAdminNeedsInstance()
    {
        await using var admin = await _host.ConnectAsync();
        var (a, keyA) = await _host.CreateWebChatAsync(admin, "a");
        var (b, _) = await _host.CreateWebChatAsync(admin, "b");
        await using var scoped = await _host.ConnectAsync(keyA);

        Assert.Equal("WhatsApp connection status: connected", await scoped.CallTextAsync("get_status"));
        Assert.Equal("WhatsApp connection status: connected", await scoped.CallTextAsync("get_status", new() { ["instance"] = a }));
        Assert.Contains($"cannot use instance '{b}'", await scoped.CallErrorAsync("get_chats", new() { ["instance"] = b }), StringComparison.Ordinal);
        Assert.Contains("needs the admin key", await scoped.CallErrorAsync("list_instances"), StringComparison.Ordinal);
        Assert.Contains("needs the admin key", await scoped.CallErrorAsync("create_instance", new() { ["name"] = "x", ["provider"] = "webchat" }), StringComparison.Ordinal);

        var missing = await admin.CallErrorAsync("get_chats");
        Assert.Equal("Error getting chats: Error: the 'instance' argument is required with the admin key: pass an instance id (list them with list_instances)", missing);
        Assert.Contains("there is no instance 'zzzzzzzz'", await admin.CallErrorAsync("get_chats", new() { ["instance"] = "zzzzzzzz" }), StringComparison.Ordinal);
        Assert.StartsWith("Retrieved 0 chats", await admin.CallTextAsync("get_chats", new() { ["instance"] = b }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_Checks_406And400AsTheReferenceSays()
    {
        using var http = _host.Raw();
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = Json(ToolsList) })
        {
            request.Headers.Accept.ParseAdd("application/json");
            Assert.Equal(HttpStatusCode.NotAcceptable, (await http.SendAsync(request, McpHost.Ct)).StatusCode);
        }

        var invalid = await PostAsync(http, "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(-32600, JsonDocument.Parse(await invalid.Content.ReadAsStringAsync(McpHost.Ct)).RootElement.GetProperty("error").GetProperty("code").GetInt32());

        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, ToolsList, version: "1999-01-01")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, ToolsList, version: "2025-06-18")).StatusCode); // stateful client without session
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, ToolsList)).StatusCode); // neither a session nor the sessionless protocol
        using (var get = new HttpRequestMessage(HttpMethod.Get, "/mcp"))
        {
            get.Headers.Accept.ParseAdd("text/event-stream");
            get.Headers.Add("MCP-Protocol-Version", "2026-07-28");
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.SendAsync(get, McpHost.Ct)).StatusCode);
        }

        var sessionless = await PostAsync(http, SessionlessToolsList, version: "2026-07-28", method: "tools/list");
        Assert.Equal(HttpStatusCode.OK, sessionless.StatusCode);
        Assert.False(sessionless.Headers.Contains("Mcp-Session-Id"));
        Assert.Equal("text/event-stream", sessionless.Content.Headers.ContentType?.MediaType);
        Assert.True(sessionless.Headers.CacheControl is { NoCache: true, NoStore: true });
        Assert.Equal("no", sessionless.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Contains("get_messages", await sessionless.Content.ReadAsStringAsync(McpHost.Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Session_InitializeCallDelete_LifecycleAndUnknownIds()
    {
        using var http = _host.Raw();
        var init = await PostAsync(http, Initialize);
        Assert.Equal(HttpStatusCode.OK, init.StatusCode);
        var session = init.Headers.GetValues("Mcp-Session-Id").Single();
        Assert.Contains("\"protocolVersion\":\"2025-06-18\"", await init.Content.ReadAsStringAsync(McpHost.Ct), StringComparison.Ordinal);

        var note = await PostAsync(http, Initialized, session, "2025-06-18");
        Assert.Equal(HttpStatusCode.Accepted, note.StatusCode);
        Assert.Null(note.Content.Headers.ContentType);

        var call = await PostAsync(http, """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_instances","arguments":{}}}""", session, "2025-06-18");
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        Assert.Contains("Found 0 instances", await call.Content.ReadAsStringAsync(McpHost.Ct), StringComparison.Ordinal);

        // Another key may not use the session.
        await using var admin = await _host.ConnectAsync();
        var (_, key) = await _host.CreateWebChatAsync(admin);
        using var other = _host.Raw(key);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(other, ToolsList, session, "2025-06-18")).StatusCode);

        using (var delete = new HttpRequestMessage(HttpMethod.Delete, "/mcp"))
        {
            delete.Headers.Add("Mcp-Session-Id", session);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(delete, McpHost.Ct)).StatusCode);
        }

        var gone = await PostAsync(http, ToolsList, session, "2025-06-18");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(-32001, JsonDocument.Parse(await gone.Content.ReadAsStringAsync(McpHost.Ct)).RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, ToolsList, "unknown-session", "2025-06-18")).StatusCode);
    }

    [Fact]
    public async Task Session_IdleLongerThanTimeout_Expires404()
    {
        await using var host = new McpHost(new Dictionary<string, string?> { ["Messengers:Mcp:SessionIdleTimeout"] = "00:00:01" });
        using var http = host.Raw();
        var session = (await PostAsync(http, Initialize)).Headers.GetValues("Mcp-Session-Id").Single();
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, ToolsList, session, "2025-06-18")).StatusCode);
        // The SDK sweeps idle sessions every 5 seconds; polling sooner would itself keep the session alive.
        await Task.Delay(TimeSpan.FromSeconds(7), McpHost.Ct);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(http, ToolsList, session, "2025-06-18")).StatusCode);
    }

    [Fact]
    public async Task Sessions_InstanceKeyOverItsCap_Refused429WhileAdminAndSessionlessGoOn()
    {
        await using var host = new McpHost(new Dictionary<string, string?> { ["Messengers:Mcp:MaxSessionsPerKey"] = "2" });
        await using var admin = await host.ConnectAsync();
        var (_, key) = await host.CreateWebChatAsync(admin);
        using var tenant = host.Raw(key);
        var first = (await PostAsync(tenant, Initialize)).Headers.GetValues("Mcp-Session-Id").Single();
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(tenant, Initialize)).StatusCode);

        var refused = await PostAsync(tenant, Initialize);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("already has 2 open MCP sessions", await refused.Content.ReadAsStringAsync(McpHost.Ct), StringComparison.Ordinal);
        Assert.False(refused.Headers.Contains("Mcp-Session-Id"));
        Assert.Equal(TimeSpan.FromSeconds(60), refused.Headers.RetryAfter?.Delta);

        // Other keys are not affected: the admin still gets sessions (raw and through the SDK client), and sessionless requests need none.
        using var adminHttp = host.Raw();
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(adminHttp, Initialize)).StatusCode);
        await using (var adminSession = await host.ConnectAsync(McpHost.AdminKey, "2025-06-18"))
        {
            Assert.StartsWith("Found 1 instances", await adminSession.CallTextAsync("list_instances"), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(tenant, SessionlessToolsList, version: "2026-07-28", method: "tools/list")).StatusCode);

        // Ending a session gives its place back.
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, "/mcp"))
        {
            delete.Headers.Add("Mcp-Session-Id", first);
            Assert.Equal(HttpStatusCode.OK, (await tenant.SendAsync(delete, McpHost.Ct)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(tenant, Initialize)).StatusCode);
    }

    [Fact]
    public async Task TwentyClients_Concurrently_SessionlessAndSessionsAllAnswer()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        await _host.VisitorSaysAsync(id, "crowd", "hi");

        var clients = Enumerable.Range(0, 20).Select(async i =>
        {
            await using var client = await _host.ConnectAsync(i % 4 == 0 ? McpHost.AdminKey : key, i % 2 == 0 ? null : "2025-06-18");
            var args = new Dictionary<string, object?>();
            if (i % 4 == 0)
            {
                args["instance"] = id;
            }

            for (var round = 0; round < 3; round++)
            {
                Assert.Equal("WhatsApp connection status: connected", await client.CallTextAsync("get_status", args));
                Assert.StartsWith("Retrieved 1 chats", await client.CallTextAsync("get_chats", args), StringComparison.Ordinal);
                var send = new Dictionary<string, object?>(args) { ["number"] = "crowd", ["message"] = $"client {i} round {round}" };
                Assert.StartsWith("Message sent successfully to crowd.", await client.CallTextAsync("send_message", send), StringComparison.Ordinal);
            }
        });
        await Task.WhenAll(clients);

        await using var check = await _host.ConnectAsync(key);
        var history = McpClientExtensions.JsonAfterFirstLine(await check.CallTextAsync("get_messages", new() { ["number"] = "crowd", ["limit"] = 200 }));
        Assert.Equal(60, history.EnumerateArray().Count(m => m.GetProperty("body").GetString()!.StartsWith("client ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task LegacySse_ThreeConcurrentClients_EachGetsItsOwnAnswers()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        var clients = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => _host.ConnectAsync(key, mode: HttpTransportMode.Sse)));
        try
        {
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                for (var round = 0; round < 3; round++)
                {
                    var text = await client.CallTextAsync("send_message", new() { ["number"] = $"sse-{i}", ["message"] = $"from {i}" });
                    Assert.StartsWith($"Message sent successfully to sse-{i}.", text, StringComparison.Ordinal);
                    Assert.StartsWith($"Retrieved {round + 1} messages from sse-{i}:", await client.CallTextAsync("get_messages", new() { ["number"] = $"sse-{i}", ["limit"] = 10 }), StringComparison.Ordinal);
                }
            }));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        Assert.Contains(id, await admin.CallTextAsync("list_instances"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LegacySse_EndpointEvent_NamesMessagePathWithSessionId()
    {
        using var http = _host.Raw();
        using var response = await http.GetAsync("/sse", HttpCompletionOption.ResponseHeadersRead, McpHost.Ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(McpHost.Ct));
        Assert.Equal("event: endpoint", await reader.ReadLineAsync(McpHost.Ct));
        var data = await reader.ReadLineAsync(McpHost.Ct);
        Assert.StartsWith("data: /message?sessionId=", data, StringComparison.Ordinal);

        // Only the key that opened the stream may post to it.
        await using var admin = await _host.ConnectAsync();
        var (_, key) = await _host.CreateWebChatAsync(admin);
        using var other = _host.Raw(key);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.PostAsync(data!["data: ".Length..], Json(ToolsList), McpHost.Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/message?sessionId=unknown", Json(ToolsList), McpHost.Ct)).StatusCode); // the SDK's answer
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string body, string? session = null, string? version = null, string? method = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = Json(body) };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
        }

        if (version is not null)
        {
            request.Headers.Add("MCP-Protocol-Version", version);
        }

        if (method is not null)
        {
            request.Headers.Add("Mcp-Method", method);
        }

        return await http.SendAsync(request, McpHost.Ct);
    }
}
