using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing.Fakes;
using Microsoft.AspNetCore.Http;

namespace Messengers.Mcp.Tests;

/// <summary>
/// <c>send_media_message</c> through the shared media downloader, with private addresses allowed so a file server on
/// 127.0.0.1 can play the remote (the production default refusing them is covered in <see cref="McpTelegramTests"/>).
/// </summary>
public sealed class McpMediaDownloadTests : IAsyncLifetime
{
    // A 1x1 PNG.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    private readonly McpHost _host = new(new Dictionary<string, string?> { ["Messengers:MediaDownload:AllowPrivateAddresses"] = "true" });
    private LoopbackHttpServer _files = null!;

    public async ValueTask InitializeAsync()
        => _files = await LoopbackHttpServer.StartAsync(async context =>
        {
            switch (context.Request.Path.Value)
            {
                case "/dot.png":
                    context.Response.ContentType = "image/png";
                    await context.Response.Body.WriteAsync(Png, context.RequestAborted);
                    break;
                case "/logo.svg":
                    context.Response.ContentType = "image/svg+xml";
                    await context.Response.WriteAsync("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>", context.RequestAborted);
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        });

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _files.DisposeAsync();
    }

    [Fact]
    public async Task SendMediaMessage_ImageUrl_StoredAndSentWhileSvgAnd404AreRefused()
    {
        await using var admin = await _host.ConnectAsync();
        var (id, key) = await _host.CreateWebChatAsync(admin);
        await using var client = await _host.ConnectAsync(key);

        var sent = await client.CallTextAsync("send_media_message", new() { ["number"] = "visitor-7", ["source"] = _files.BaseUrl + "/dot.png", ["caption"] = "a dot" });
        Assert.StartsWith("Media message sent successfully to visitor-7.", sent, StringComparison.Ordinal);
        Assert.Contains("\"mimetype\": \"image/png\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"filename\": \"dot.png\"", sent, StringComparison.Ordinal);

        using var http = _host.Raw(key);
        var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/instances/{id}/chats/visitor-7/messages", McpHost.Ct);
        var message = page.GetProperty("items").EnumerateArray().Single();
        Assert.Equal("a dot", message.GetProperty("body").GetString());
        Assert.Equal(Png.Length, message.GetProperty("media").GetProperty("size").GetInt64());

        // An image type a browser runs is refused like an upload of it would be; a missing file names the answer.
        Assert.Contains("image/svg+xml", await client.CallErrorAsync("send_media_message", new() { ["number"] = "visitor-7", ["source"] = _files.BaseUrl + "/logo.svg" }), StringComparison.Ordinal);
        Assert.Contains("answered 404", await client.CallErrorAsync("send_media_message", new() { ["number"] = "visitor-7", ["source"] = _files.BaseUrl + "/gone.png" }), StringComparison.Ordinal);
        Assert.Contains("http:// or https://", await client.CallErrorAsync("send_media_message", new() { ["number"] = "visitor-7", ["source"] = "gopher://127.0.0.1/dot.png" }), StringComparison.Ordinal);
        Assert.Single((await http.GetFromJsonAsync<JsonElement>($"/api/v1/instances/{id}/chats/visitor-7/messages", McpHost.Ct)).GetProperty("items").EnumerateArray());
    }
}
