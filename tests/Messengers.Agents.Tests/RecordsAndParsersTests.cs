using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Messengers.Agents.Agno;
using Messengers.Agents.Http;
using Messengers.Agents.HttpBot;
using Messengers.Agents.Reliability;

namespace Messengers.Agents.Tests;

public sealed class RecordsAndParsersTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void AgentRequest_SystemTextJson_RoundTripsEveryField()
    {
        var endpoint = new AgentEndpoint("http://agno:7777")
        {
            ApiKey = "k",
            Shape = AgnoShape.Playground,
            Stream = true,
            Timeout = TimeSpan.FromSeconds(90),
            Model = "gpt-4.1",
            SystemPrompt = "be brief",
            Headers = new Dictionary<string, string> { ["X-A"] = "1" },
        };
        var request = new AgentRequest(
            "i", "c", "a", "s", "u", "t",
            [new AgentAttachment("f.png", "image/png", [1, 2, 3])],
            [new AgentHistoryTurn(AgentRole.Assistant, "earlier")],
            endpoint) { MessageId = "m" };

        var json = JsonSerializer.Serialize(request);
        var back = JsonSerializer.Deserialize<AgentRequest>(json)!;

        Assert.Contains("\"Shape\":\"Playground\"", json, StringComparison.Ordinal);
        Assert.Contains("\"Role\":\"Assistant\"", json, StringComparison.Ordinal);
        Assert.Equal(("i", "c", "a", "s", "u", "t", "m"), (back.InstanceId, back.ChatId, back.AgentId, back.SessionId, back.UserId, back.Text, back.MessageId));
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single(back.Attachments).Content);
        Assert.Equal(new AgentHistoryTurn(AgentRole.Assistant, "earlier"), Assert.Single(back.History));
        Assert.Equal(endpoint with { Headers = back.Endpoint.Headers }, back.Endpoint);
        Assert.Equal("1", back.Endpoint.Headers!["X-A"]);
    }

    [Fact]
    public void AgentReply_SystemTextJson_RoundTrips()
    {
        var reply = new AgentReply("hi") { RunId = "r", SessionId = "s", Urls = ["http://x/y.png"] };

        var back = JsonSerializer.Deserialize<AgentReply>(JsonSerializer.Serialize(reply))!;

        Assert.Equal(("hi", "r", "s", "http://x/y.png"), (back.Text, back.RunId, back.SessionId, Assert.Single(back.Urls)));
        Assert.False(back.IsEmpty);
        Assert.True(AgentReply.Empty.IsEmpty);
    }

    [Fact]
    public void AgentEndpoint_ToString_RedactsKeyHeadersAndUrlSecrets()
    {
        var endpoint = new AgentEndpoint("https://user:pass@agno.example:8443/base?token=qs-secret")
        {
            ApiKey = "sk-live-secret",
            Headers = new Dictionary<string, string> { ["X-Token"] = "hdr-secret" },
        };

        var text = endpoint.ToString();

        Assert.Contains("ApiKey = ***", text, StringComparison.Ordinal);
        Assert.Contains("X-Token=***", text, StringComparison.Ordinal);
        Assert.Contains("https://agno.example:8443/base", text, StringComparison.Ordinal);
        foreach (var secret in new[] { "sk-live-secret", "hdr-secret", "pass", "qs-secret" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void JsonObjectSplitter_ObjectsFedCharByChar_SplitsAtTopLevelBraces()
    {
        var input = "{\n  \"content\": \"a } { \\\" \\\\\",\n  \"n\": {\"x\": [1, {\"y\": 2}]}\n}{\"content\":\"b\"}\n  {\"c\":1}";
        var splitter = new JsonObjectSplitter();
        var output = new List<string>();

        foreach (var c in input)
        {
            splitter.Push([c], output);
        }

        Assert.Equal(3, output.Count);
        Assert.Equal("a } { \" \\", JsonDocument.Parse(output[0]).RootElement.GetProperty("content").GetString());
        Assert.Equal("b", JsonDocument.Parse(output[1]).RootElement.GetProperty("content").GetString());
        Assert.False(splitter.HasPartial);
    }

    [Fact]
    public void SseParser_CrLfMultiDataAndComments_ParsesEvents()
    {
        var parser = new SseParser();
        var output = new List<SseEvent>();

        parser.Push(": keep-alive\r\nevent: RunContent\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nda", output);
        parser.Push("ta: tail", output);
        parser.Complete(output);

        Assert.Equal([new SseEvent("RunContent", "{\"a\":\n1}"), new SseEvent(null, "tail")], output);
    }

    [Fact]
    public async Task ReadRun_SseWithoutRunCompletedContent_ConcatenatesDeltas()
    {
        var body = "event: RunContent\ndata: {\"event\":\"RunContent\",\"content\":\"Hel\",\"run_id\":\"r1\"}\n\n"
            + "event: RunContent\ndata: {\"event\":\"RunContent\",\"content\":\"lo\"}\n\n"
            + "event: CustomEvent\ndata: {\"event\":\"CustomEvent\",\"content\":\"ignored\"}\n\n"
            + "event: RunCompleted\ndata: {\"event\":\"RunCompleted\",\"images\":[{\"url\":\"http://img/1.png\"}]}\n\n";

        var reply = await AgnoBackend.ReadRunAsync(Reader(body), Ct);

        Assert.Equal("Hello", reply.Text);
        Assert.Equal("r1", reply.RunId);
        Assert.Equal("http://img/1.png", Assert.Single(reply.Urls));
    }

    [Fact]
    public async Task ReadRun_NonStreamedObjectWithMessageField_FallsBackToMessage()
    {
        var reply = await AgnoBackend.ReadRunAsync(Reader("{\"message\":\"from message\",\"run_id\":\"r\"}"), Ct);

        Assert.Equal("from message", reply.Text);
    }

    [Fact]
    public async Task ReadRun_StructuredContent_ReturnsItsJson()
    {
        var reply = await AgnoBackend.ReadRunAsync(Reader("{\"content\":{\"answer\":42},\"content_type\":\"Answer\"}"), Ct);

        Assert.Equal("{\"answer\":42}", reply.Text);
    }

    [Fact]
    public async Task ReadRun_TruncatedJsonStream_FailsAsInvalidReply()
    {
        var ex = await Assert.ThrowsAsync<AgentAttemptException>(() => AgnoBackend.ReadRunAsync(Reader("{\"event\":\"RunResponseContent\",\"content\":\"a\"}{\"event\":"), Ct));

        Assert.Equal(AgentFailureReason.InvalidReply, ex.Reason);
    }

    [Theory]
    [InlineData("{\"reply\":\"x\"}", "application/json", "x")]
    [InlineData("\"x\"", "application/json", "x")]
    [InlineData("{\"reply\":null}", "application/json", "")]
    [InlineData("{\"reply\":\"y\"}", null, "y")]
    [InlineData("just text", "text/plain", "just text")]
    [InlineData("   ", "text/plain", "")]
    public void HttpBotReadReply_BodyForms_ReturnsText(string body, string? mediaType, string expected)
    {
        Assert.Equal(expected, HttpBotBackend.ReadReply(body, mediaType).Text);
    }

    [Fact]
    public void RetryAfter_DeltaAndDate_ConvertToWaits()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(TimeSpan.FromSeconds(7), RetryDelays.FromRetryAfter(new RetryConditionHeaderValue(TimeSpan.FromSeconds(7)), now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryDelays.FromRetryAfter(new RetryConditionHeaderValue(now.AddSeconds(30)), now));
        Assert.Equal(TimeSpan.Zero, RetryDelays.FromRetryAfter(new RetryConditionHeaderValue(now.AddSeconds(-30)), now));
        Assert.Null(RetryDelays.FromRetryAfter(null, now));
    }

    [Theory]
    [InlineData(1, 0.0, 50)]
    [InlineData(1, 1.0, 100)]
    [InlineData(3, 1.0, 400)]
    [InlineData(10, 1.0, 1000)]
    public void Backoff_AttemptAndJitter_DoublesWithinCap(int attempt, double random, int expectedMs)
    {
        var delay = RetryDelays.Backoff(attempt, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), random);

        Assert.Equal(expectedMs, delay.TotalMilliseconds, 3);
    }

    private static StreamReader Reader(string body) => new(new MemoryStream(Encoding.UTF8.GetBytes(body)), Encoding.UTF8);
}
