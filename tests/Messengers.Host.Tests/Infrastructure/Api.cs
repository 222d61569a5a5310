using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Messengers.Testing;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>Small helpers over the REST API; JSON stays as <see cref="JsonElement"/> so the tests see the wire format.</summary>
public static class Api
{
    public const string Instances = "/api/v1/instances";

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Json(object body) => Json(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts the status and returns the JSON body (the body is in the failure message otherwise).</summary>
    public static async Task<JsonElement> ExpectAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"Expected {(int)status} {status}, got {(int)response.StatusCode} {response.StatusCode}: {text}");
        return text.Length == 0 || !(response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false)
            ? default
            : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts a 4xx problem+json whose body mentions every fragment; returns the body text.</summary>
    public static async Task<string> ExpectProblemAsync(this HttpResponseMessage response, HttpStatusCode status, params string[] fragments)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"Expected {(int)status} {status}, got {(int)response.StatusCode} {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal((int)status, body["status"]?.GetValue<int>());
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, text, StringComparison.OrdinalIgnoreCase);
        }

        return text;
    }

    public sealed record Created(string Id, string ApiKey, JsonElement Instance);

    public static async Task<Created> CreateWebChatAsync(this HttpClient admin, string name = "web chat", object? webChat = null, object? agent = null)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var response = await admin.PostAsync(Instances, Json(new
        {
            name,
            provider = "webchat",
            agent = agent ?? new { backend = "echo" },
            webChat,
        }), Ct);
        var body = await response.ExpectAsync(HttpStatusCode.Created);
        // The instance's fields with "apiKey" beside them (the dashboard's contract).
        var instance = body;
        var id = instance.GetProperty("id").GetString()!;
        Assert.Equal($"/api/v1/instances/{id}", response.Headers.Location?.OriginalString);
        return new Created(id, body.GetProperty("apiKey").GetString()!, instance);
    }

    public static async Task<JsonElement> GetInstanceAsync(this HttpClient client, string id)
        => await (await client.GetAsync($"{Instances}/{id}", Ct)).ExpectAsync(HttpStatusCode.OK);

    /// <summary>Waits for a status; 30 s by default (the suites share two cores with others), longer where a browser starts.</summary>
    public static Task<JsonElement> WaitForStatusAsync(this HttpClient client, string id, string status, TimeSpan? timeout = null)
        => Eventually.UntilAsync(
            () => client.GetInstanceAsync(id),
            i => i.GetProperty("status").GetString() == status,
            timeout ?? TimeSpan.FromSeconds(30),
            $"instance {id} to be {status}");

    public static string Status(this JsonElement instance) => instance.GetProperty("status").GetString()!;

    public static (long In, long Out) Counters(this JsonElement instance)
    {
        var counters = instance.GetProperty("counters");
        return (counters.GetProperty("messagesIn").GetInt64(), counters.GetProperty("messagesOut").GetInt64());
    }

    public static async Task<JsonElement> PostVisitorMessageAsync(this HttpClient client, string id, string visitorId, string text)
        => await (await client.PostAsync($"/webchat/{id}/messages", Json(new { visitorId, text }), Ct)).ExpectAsync(HttpStatusCode.Accepted);

    public static IEnumerable<JsonElement> Items(this JsonElement page) => page.GetProperty("items").EnumerateArray();
}
