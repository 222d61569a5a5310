using System.Text.Json.Nodes;
using Messengers.Testing;
using StackExchange.Redis;
using PubSubChannel = StackExchange.Redis.RedisChannel;

namespace Messengers.Agents.Tests.RedisChannel;

/// <summary>
/// An agent in the PlatformAI-HUB shape on its own StackExchange.Redis connection: it subscribes to
/// <c>agent:{agentId}:input</c>, records every request and publishes its answers on <c>agent:{agentId}:output</c>.
/// By default it answers <c>"agent says: " + text</c> with the request's ids, 300 ms late for texts starting with "slow".
/// </summary>
internal sealed class FakeRedisAgent : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly PubSubChannel _input;
    private readonly PubSubChannel _output;
    private readonly Func<JsonNode, IReadOnlyList<string>> _answer;
    private readonly List<JsonNode> _received = [];

    private FakeRedisAgent(ConnectionMultiplexer redis, string agentId, Func<JsonNode, IReadOnlyList<string>> answer)
    {
        _redis = redis;
        _input = PubSubChannel.Literal($"agent:{agentId}:input");
        _output = PubSubChannel.Literal($"agent:{agentId}:output");
        _answer = answer;
    }

    public IReadOnlyList<JsonNode> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>True while Redis has confirmed the agent's subscription to its input on a live connection.</summary>
    public bool IsListening => _redis.GetSubscriber().SubscribedEndpoint(_input) is not null && _redis.GetSubscriber().IsConnected(_input);

    /// <param name="answer">The raw messages to publish on the output channel for a request (default: <see cref="Answer"/>).</param>
    public static async Task<FakeRedisAgent> StartAsync(string connectionString, string agentId = "support", Func<JsonNode, IReadOnlyList<string>>? answer = null)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = new ExponentialRetry(50, 500);
        var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var agent = new FakeRedisAgent(redis, agentId, answer ?? (request => [Answer(request)]));
        var queue = await redis.GetSubscriber().SubscribeAsync(agent._input);
        queue.OnMessage(agent.OnRequest);
        return agent;
    }

    /// <summary>The standard answer: request and session ids echoed, <c>text</c> = "agent says: " + the request's text.</summary>
    public static string Answer(JsonNode request) => new JsonObject
    {
        ["request_id"] = (string?)request["request_id"],
        ["session_id"] = (string?)request["session_id"],
        ["text"] = "agent says: " + (string?)request["text"],
    }.ToJsonString();

    /// <summary>Waits until the agent listens again, e.g. after a Redis restart.</summary>
    public Task WaitUntilListeningAsync() => Eventually.UntilAsync(() => Task.FromResult(IsListening), 15, "the fake agent to subscribe to its input again");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    private void OnRequest(ChannelMessage message)
    {
        var request = JsonNode.Parse((string)message.Message!)!;
        lock (_received)
        {
            _received.Add(request);
        }

        // Answer out of order for "slow" requests, to prove replies are matched by request id.
        var delay = ((string?)request["text"])!.StartsWith("slow", StringComparison.Ordinal) ? 300 : 0;
        _ = Task.Run(async () =>
        {
            await Task.Delay(delay);
            foreach (var reply in _answer(request))
            {
                await _redis.GetSubscriber().PublishAsync(_output, reply);
            }
        });
    }
}
