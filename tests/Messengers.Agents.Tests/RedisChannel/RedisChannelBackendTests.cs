using System.Text.Json.Nodes;
using Messengers.Agents.RedisChannel;
using Messengers.Runtime.Redis;
using Messengers.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Agents.Tests.RedisChannel;

/// <summary>The Redis channel backend against a real redis-server and an agent that answers on its output channel.</summary>
public sealed class RedisChannelBackendTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private RedisConnection _agentConnection = null!;
    private RedisSubscriber _agentInput = null!;
    private readonly List<JsonNode> _received = [];

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _agentConnection = await RedisConnection.ConnectAsync(_redis.ConnectionString);
        _agentInput = _agentConnection.CreateSubscriber();
        await _agentInput.SubscribeAsync("agent:support:input", message =>
        {
            var request = JsonNode.Parse(message.Text!)!;
            lock (_received)
            {
                _received.Add(request);
            }

            // Answer out of order for "slow" requests, to prove replies are matched by request id.
            var delay = ((string?)request["text"])!.StartsWith("slow", StringComparison.Ordinal) ? 300 : 0;
            _ = Task.Run(async () =>
            {
                await Task.Delay(delay);
                await _agentConnection.PublishAsync("agent:support:output", new JsonObject
                {
                    ["request_id"] = (string?)request["request_id"],
                    ["session_id"] = (string?)request["session_id"],
                    ["text"] = "agent says: " + (string?)request["text"],
                }.ToJsonString());
            });
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _agentInput.DisposeAsync();
        await _agentConnection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private AgentRequest Request(string text, string messageId, TimeSpan? timeout = null, string agentId = "support")
        => new("inst", "chat1", agentId, "session-1", "user-1", text, [], [new AgentHistoryTurn(AgentRole.User, "earlier")], new AgentEndpoint(_redis.ConnectionString) { Timeout = timeout })
        {
            MessageId = messageId,
        };

    [Fact]
    public async Task Run_AgentAnswersOnOutput_ReturnsReplyAndPublishesDocumentedPayload()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var reply = await backend.RunAsync(Request("hello", "m1"), TestContext.Current.CancellationToken);

        Assert.Equal("agent says: hello", reply.Text);
        JsonNode sent;
        lock (_received)
        {
            sent = Assert.Single(_received);
        }

        Assert.Equal("m1", (string?)sent["request_id"]);
        Assert.Equal("session-1", (string?)sent["session_id"]);
        Assert.Equal("user-1", (string?)sent["user_id"]);
        Assert.Equal("chat1", (string?)sent["chat_id"]);
        Assert.Equal("earlier", (string?)sent["history"]![0]!["text"]);
    }

    [Fact]
    public async Task Run_TurnWithPhoto_NamesThePhotoInTheText()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);
        var request = Request("look", "m-photo") with { Attachments = [new AgentAttachment("photo.jpg", "image/jpeg", new byte[2048])] };

        var reply = await backend.RunAsync(request, TestContext.Current.CancellationToken);

        const string Expected = "look\n[attachment not sent: photo.jpg (image/jpeg, 2 KB): the Redis channel carries text only]";
        Assert.Equal("agent says: " + Expected, reply.Text);
        lock (_received)
        {
            Assert.Equal(Expected, (string?)Assert.Single(_received)["text"]);
        }
    }

    [Fact]
    public async Task Run_ConcurrentRequests_RepliesMatchedByRequestIdNotArrivalOrder()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var slow = backend.RunAsync(Request("slow one", "m-slow"), TestContext.Current.CancellationToken);
        var fast = backend.RunAsync(Request("fast one", "m-fast"), TestContext.Current.CancellationToken);

        Assert.Equal("agent says: fast one", (await fast).Text);
        Assert.Equal("agent says: slow one", (await slow).Text);
    }

    [Fact]
    public async Task Run_NoAgentListening_FailsWithTimeoutNamingTheChannel()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("anyone?", "m2", TimeSpan.FromMilliseconds(300), agentId: "nobody"), TestContext.Current.CancellationToken));

        Assert.Equal(AgentFailureReason.Timeout, error.Reason);
        Assert.Contains("agent:nobody:input", error.Message, StringComparison.Ordinal);
    }
}
