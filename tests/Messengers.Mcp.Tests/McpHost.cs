using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Messengers.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Messengers.Mcp.Tests;

/// <summary>
/// The host with embedded storage in a temp data folder, a fixed admin key and optional MCP settings; its Orleans silo
/// listens on loopback ports of its own, so hosts of parallel tests never collide.
/// </summary>
public sealed class McpHost : WebApplicationFactory<Program>
{
    public const string AdminKey = "msa_mcp-tests-admin-key-0123456789abcdef";

    private readonly Dictionary<string, string?> _settings;

    public McpHost(IReadOnlyDictionary<string, string?>? extra = null)
    {
        DataPath = Path.Combine(Path.GetTempPath(), "messengers-mcp-tests", Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>
        {
            ["Messengers:DataPath"] = DataPath,
            ["Messengers:AdminKey"] = AdminKey,
            ["Messengers:Storage"] = "sqlite",
            ["Messengers:Streams"] = "memory",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        _settings = Messengers.Host.Tests.Infrastructure.OrleansTestPorts.With(_settings);
    }

    public string DataPath { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Production");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }

    /// <summary>An SDK client over the in-memory server; <paramref name="protocolVersion"/> null = the SDK's default (2026-07-28, sessionless).</summary>
    public async Task<McpClient> ConnectAsync(string? key = AdminKey, string? protocolVersion = null, HttpTransportMode mode = HttpTransportMode.StreamableHttp)
    {
        var http = CreateClient();
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = new Uri(http.BaseAddress!, mode == HttpTransportMode.Sse ? "/sse" : "/mcp"),
                TransportMode = mode,
                AdditionalHeaders = key is null ? null : new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
            },
            http,
            NullLoggerFactory.Instance,
            ownsHttpClient: false);
        return await McpClient.CreateAsync(transport, SdkClientOptions(protocolVersion), NullLoggerFactory.Instance, Ct);
    }

    /// <summary>
    /// Client options for the tests: the <c>server/discover</c> probe may wait 30 s, not the SDK's 5 s. A first request
    /// (host and silo just started, grains activating) on a machine busy with other suites can take longer than 5 s, and
    /// a probe that times out makes the client fall back to <c>initialize</c>, which a 2026-07-28 server refuses.
    /// </summary>
    public static McpClientOptions SdkClientOptions(string? protocolVersion = null)
        => new() { ProtocolVersion = protocolVersion, DiscoverProbeTimeout = TimeSpan.FromSeconds(30) };

    public HttpClient Raw(string? key = AdminKey)
    {
        var http = CreateClient();
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    public async Task<(string Id, string Key)> CreateWebChatAsync(McpClient admin, string name = "web chat")
    {
        ArgumentNullException.ThrowIfNull(admin);
        var text = await admin.CallTextAsync("create_instance", new() { ["name"] = name, ["provider"] = "webchat" });
        var id = Line(text, "Instance created. ID: ");
        Assert.DoesNotContain("msk_", text, StringComparison.Ordinal);
        var key = await InstanceKeyAsync(id);
        await Eventually.UntilAsync(async () => await admin.CallTextAsync("get_status", new() { ["instance"] = id }) == "WhatsApp connection status: connected");
        return (id, key);
    }

    /// <summary>A fresh key of the instance from the REST API (MCP never shows keys).</summary>
    public async Task<string> InstanceKeyAsync(string id)
    {
        using var http = Raw();
        var response = await http.PostAsync($"/api/v1/instances/{id}/apikey", null, Ct);
        Assert.True(response.IsSuccessStatusCode, $"rotate key: {(int)response.StatusCode}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("apiKey").GetString()!;
    }

    /// <summary>What a web-chat visitor posts (the chat's agent turn answers it through the echo agent).</summary>
    public async Task VisitorSaysAsync(string instanceId, string visitorId, string text)
    {
        using var http = CreateClient();
        var body = new StringContent(JsonSerializer.Serialize(new { visitorId, text }), Encoding.UTF8, "application/json");
        var response = await http.PostAsync($"/webchat/{instanceId}/messages", body, Ct);
        Assert.True(response.IsSuccessStatusCode, $"visitor post: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Line(string text, string prefix)
        => text.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal))[prefix.Length..].Trim();
}

public static class McpClientExtensions
{
    public static async Task<CallToolResult> CallAsync(this McpClient client, string tool, Dictionary<string, object?>? args = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return await client.CallToolAsync(tool, args ?? [], cancellationToken: McpHost.Ct);
    }

    /// <summary>Calls a tool that must succeed and returns its one text.</summary>
    public static async Task<string> CallTextAsync(this McpClient client, string tool, Dictionary<string, object?>? args = null)
    {
        var result = await client.CallAsync(tool, args);
        var text = result.Text();
        Assert.True(result.IsError != true, $"{tool} failed: {text}");
        return text;
    }

    /// <summary>Calls a tool that must fail and returns its error text.</summary>
    public static async Task<string> CallErrorAsync(this McpClient client, string tool, Dictionary<string, object?>? args = null)
    {
        var result = await client.CallAsync(tool, args);
        var text = result.Text();
        Assert.True(result.IsError == true, $"{tool} should have failed: {text}");
        return text;
    }

    public static string Text(this CallToolResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
    }

    /// <summary>The JSON after the first line of a "Retrieved N …:\n[…]" text.</summary>
    public static JsonElement JsonAfterFirstLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var start = text.IndexOf('\n', StringComparison.Ordinal) + 1;
        var end = text.IndexOf("\n\nNote:", StringComparison.Ordinal);
        return JsonDocument.Parse(end < 0 ? text[start..] : text[start..end]).RootElement.Clone();
    }
}
