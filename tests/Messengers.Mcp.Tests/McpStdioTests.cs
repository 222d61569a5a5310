using Messengers.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Client;

namespace Messengers.Mcp.Tests;

public sealed class McpStdioTests
{
    [Fact]
    public async Task Stdio_BuiltHostDll_ListsAndCallsToolsWithAdminKey()
    {
        var dll = HostDll();
        var data = Path.Combine(Path.GetTempPath(), "messengers-mcp-tests", "stdio-" + Guid.NewGuid().ToString("N"));
        var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
        try
        {
            var transport = new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = "dotnet",
                Arguments = [dll, "mcp", "--stdio"],
                WorkingDirectory = Path.GetDirectoryName(dll),
                EnvironmentVariables = new Dictionary<string, string?>
                {
                    ["Messengers__DataPath"] = data,
                    ["Messengers__AdminKey"] = McpHost.AdminKey,
                    ["MESSENGERS_API_KEY"] = McpHost.AdminKey,
                    ["ASPNETCORE_ENVIRONMENT"] = "Production",
                    ["Orleans__Endpoints__SiloPort"] = Port(),
                    ["Orleans__Endpoints__GatewayPort"] = Port(),
                },
                StandardErrorLines = stderr.Enqueue,
            }, NullLoggerFactory.Instance);
            await using var client = await McpClient.CreateAsync(transport, McpHost.SdkClientOptions(), NullLoggerFactory.Instance, McpHost.Ct);

            var tools = await client.ListToolsAsync(cancellationToken: McpHost.Ct);
            Assert.Contains(tools, t => t.Name == "send_message");
            var created = await client.CallTextAsync("create_instance", new() { ["name"] = "desk", ["provider"] = "webchat" });
            var id = created.Split('\n')[0]["Instance created. ID: ".Length..];
            await Eventually.UntilAsync(async () => await client.CallTextAsync("get_status", new() { ["instance"] = id }) == "WhatsApp connection status: connected", 30);
            Assert.StartsWith("Message sent successfully to desk-visitor.", await client.CallTextAsync("send_message", new() { ["instance"] = id, ["number"] = "desk-visitor", ["message"] = "hi" }), StringComparison.Ordinal);
            Assert.StartsWith("Retrieved 1 messages from desk-visitor:", await client.CallTextAsync("get_messages", new() { ["instance"] = id, ["number"] = "desk-visitor", ["limit"] = 5 }), StringComparison.Ordinal);
            Assert.DoesNotContain(stderr, line => line.Contains(McpHost.AdminKey, StringComparison.Ordinal));
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task Stdio_WrongKey_ExitsBeforeServing()
    {
        var data = Path.Combine(Path.GetTempPath(), "messengers-mcp-tests", "stdio-" + Guid.NewGuid().ToString("N"));
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { HostDll(), "mcp", "--stdio", "--api-key", "msa_wrong" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Messengers__DataPath"] = data;
        start.Environment["Messengers__AdminKey"] = McpHost.AdminKey;
        start.Environment["Orleans__Endpoints__SiloPort"] = Port();
        start.Environment["Orleans__Endpoints__GatewayPort"] = Port();
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(McpHost.Ct);
        var stderr = process.StandardError.ReadToEndAsync(McpHost.Ct);
        await process.WaitForExitAsync(McpHost.Ct);
        Assert.Equal(2, process.ExitCode);
        Assert.Equal("", await stdout);
        Assert.Contains("MESSENGERS_API_KEY", await stderr, StringComparison.Ordinal);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task RealHttp_BuiltHost_StreamableAndLegacySseClientsAnswer()
    {
        var data = Path.Combine(Path.GetTempPath(), "messengers-mcp-tests", "http-" + Guid.NewGuid().ToString("N"));
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { HostDll(), "--urls", baseUrl.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Messengers__DataPath"] = data;
        start.Environment["Messengers__AdminKey"] = McpHost.AdminKey;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Orleans__Endpoints__SiloPort"] = Port();
        start.Environment["Orleans__Endpoints__GatewayPort"] = Port();
        using var process = System.Diagnostics.Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync(McpHost.Ct);
        _ = process.StandardError.ReadToEndAsync(McpHost.Ct);
        try
        {
            using var http = new HttpClient { BaseAddress = baseUrl };
            await Eventually.UntilAsync(async () =>
            {
                try
                {
                    return (await http.GetAsync("/health", McpHost.Ct)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, 60);

            foreach (var (mode, path, version) in new[] { (HttpTransportMode.StreamableHttp, "/mcp", (string?)null), (HttpTransportMode.StreamableHttp, "/mcp", "2025-06-18"), (HttpTransportMode.Sse, "/sse", null) })
            {
                var transport = new HttpClientTransport(new HttpClientTransportOptions
                {
                    Endpoint = new Uri(baseUrl, path),
                    TransportMode = mode,
                    AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + McpHost.AdminKey },
                }, NullLoggerFactory.Instance);
                await using var client = await McpClient.CreateAsync(transport, McpHost.SdkClientOptions(version), NullLoggerFactory.Instance, McpHost.Ct);
                Assert.StartsWith("Found ", await client.CallTextAsync("list_instances"), StringComparison.Ordinal);
            }

            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.PostAsync("/mcp", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), McpHost.Ct)).StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(McpHost.Ct);
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A loopback port of its own for the host process's Orleans silo (in-process hosts of other tests run meanwhile).</summary>
    private static string Port() => Messengers.Host.Tests.Infrastructure.OrleansTestPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The host's own build output (with its runtimeconfig), in the configuration the tests were built in.</summary>
    private static string HostDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent!.Name; // bin/<Configuration>/net10.0/
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Messengers.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var dll = Path.Combine(root.FullName, "src", "Messengers.Host", "bin", configuration, "net10.0", "Messengers.Host.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build src/Messengers.Host first");
        return dll;
    }
}
