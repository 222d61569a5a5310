using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Messengers.Runtime.Redis;
using Microsoft.Extensions.Logging;

namespace Messengers.Agents.RedisChannel;

/// <summary>
/// Agents reached over Redis pub/sub, in the PlatformAI-HUB shape: the user turn is published on
/// <c>agent:{agentId}:input</c> and the reply read from <c>agent:{agentId}:output</c>. The endpoint's BaseUrl is the
/// Redis connection string (<c>host:port[,password=…]</c>). Replies are matched by <c>request_id</c> (falling back
/// to <c>session_id</c>); payloads are documented in this project's README.
/// </summary>
public sealed class RedisChannelBackend(TimeProvider time, ILoggerFactory loggers) : IAgentBackend, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<Channel>>> _channels = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger<RedisChannelBackend>();

    public string Name => "redis";

    public async Task<AgentReply> RunAsync(AgentRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Endpoint.BaseUrl))
        {
            throw Failure(request, AgentFailureReason.Misconfigured, "The redis backend needs the Redis connection string as its baseUrl.");
        }

        // The endpoint's key, when set, is the Redis password (kept out of the baseUrl, which the API shows).
        var connection = request.Endpoint.ApiKey is { Length: > 0 } password ? $"{request.Endpoint.BaseUrl},password={password}" : request.Endpoint.BaseUrl;
        var channelKey = $"{connection}|{request.AgentId}";
        Channel channel;
        try
        {
            channel = await _channels.GetOrAdd(channelKey, key => new Lazy<Task<Channel>>(() => Channel.OpenAsync(connection, request.AgentId, loggers, time))).Value;
        }
        catch (Exception exception) when (exception is RedisException or System.Net.Sockets.SocketException or TimeoutException)
        {
            _channels.TryRemove(channelKey, out _);
            throw Failure(request, AgentFailureReason.ConnectionFailed, $"Redis at the agent's baseUrl is unreachable: {exception.Message}", exception);
        }

        var requestId = request.MessageId ?? Guid.NewGuid().ToString("N");
        var payload = new JsonObject
        {
            ["request_id"] = requestId,
            ["session_id"] = request.SessionId,
            ["user_id"] = request.UserId,
            ["chat_id"] = request.ChatId,
            ["instance_id"] = request.InstanceId,
            ["message_id"] = request.MessageId,
            ["text"] = request.Text,
            ["history"] = new JsonArray([.. request.History.Select(h => (JsonNode)new JsonObject { ["role"] = h.Role == AgentRole.User ? "user" : "assistant", ["text"] = h.Text })]),
            ["timestamp"] = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };

        var waiter = channel.Expect(requestId, request.SessionId);
        try
        {
            await channel.Connection.PublishAsync($"agent:{request.AgentId}:input", payload.ToJsonString(), ct);
            var timeout = request.Endpoint.Timeout ?? TimeSpan.FromSeconds(60);
            var text = await waiter.WaitAsync(timeout, time, ct);
            return new AgentReply(text) { SessionId = request.SessionId };
        }
        catch (TimeoutException)
        {
            throw Failure(request, AgentFailureReason.Timeout, $"No reply on agent:{request.AgentId}:output within {(request.Endpoint.Timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s; is the agent subscribed to agent:{request.AgentId}:input?");
        }
        finally
        {
            channel.Forget(requestId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _channels.Values.Where(l => l.IsValueCreated))
        {
            try
            {
                await (await lazy.Value).DisposeAsync();
            }
            catch (Exception exception) when (exception is RedisException or ObjectDisposedException)
            {
                _logger.LogDebug(exception, "Closing a Redis agent channel failed");
            }
        }
    }

    private static AgentCallFailedException Failure(AgentRequest request, AgentFailureReason reason, string message, Exception? inner = null)
        => new("redis", request.AgentId, $"agent:{request.AgentId}", reason, 1, null, message, inner);

    /// <summary>One agent's channels on one Redis server: a publishing connection and a subscription to its output.</summary>
    private sealed class Channel : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _byRequest = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _bySession = new(StringComparer.Ordinal);

        private Channel(RedisConnection connection, RedisSubscriber subscriber)
        {
            Connection = connection;
            Subscriber = subscriber;
        }

        public RedisConnection Connection { get; }

        private RedisSubscriber Subscriber { get; }

        public static async Task<Channel> OpenAsync(string connectionString, string agentId, ILoggerFactory loggers, TimeProvider time)
        {
            var connection = await RedisConnection.ConnectAsync(connectionString, loggers, time);
            var channel = new Channel(connection, connection.CreateSubscriber());
            await channel.Subscriber.SubscribeAsync($"agent:{agentId}:output", channel.OnOutput);
            return channel;
        }

        public Task<string> Expect(string requestId, string sessionId)
        {
            var waiter = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _byRequest[requestId] = waiter;
            _bySession.GetOrAdd(sessionId, _ => new()).Enqueue(requestId);
            return waiter.Task;
        }

        public void Forget(string requestId) => _byRequest.TryRemove(requestId, out _);

        public async ValueTask DisposeAsync()
        {
            await Subscriber.DisposeAsync();
            await Connection.DisposeAsync();
        }

        private void OnOutput(RedisPubSubMessage message)
        {
            if (message.Text is not { } text)
            {
                return;
            }

            JsonNode? reply;
            try
            {
                reply = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                return; // not ours: the channel may carry other producers' traffic
            }

            var body = (string?)reply?["text"] ?? (string?)reply?["response"] ?? (string?)reply?["content"] ?? (string?)reply?["message"];
            if (body is null)
            {
                return;
            }

            var requestId = (string?)reply?["request_id"];
            if (requestId is null && (string?)reply?["session_id"] is { } sessionId && _bySession.TryGetValue(sessionId, out var queue))
            {
                while (queue.TryDequeue(out var oldest))
                {
                    if (_byRequest.ContainsKey(oldest))
                    {
                        requestId = oldest;
                        break;
                    }
                }
            }

            if (requestId is not null && _byRequest.TryRemove(requestId, out var waiter))
            {
                waiter.TrySetResult(body);
            }
        }
    }
}
