using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Messengers.Agents.RedisChannel;

/// <summary>
/// Agents reached over Redis pub/sub, in the PlatformAI-HUB shape: the user turn is published on
/// <c>agent:{agentId}:input</c> and the reply read from <c>agent:{agentId}:output</c>. The endpoint's BaseUrl is the
/// Redis connection string (<c>host:port[,user=…][,ssl=true][,defaultDatabase=N]…</c>, see
/// <see cref="RedisChannelConnectionString"/>) and its key the Redis password. Replies are matched by <c>request_id</c>
/// (falling back to <c>session_id</c>); payloads are documented in this project's README. Runs on StackExchange.Redis:
/// one <see cref="ConnectionMultiplexer"/> per distinct connection string and password, created on first use, shared by
/// every agent behind it and closed by <see cref="DisposeAsync"/>.
/// </summary>
public sealed class RedisChannelBackend(TimeProvider time, ILoggerFactory loggers) : IAgentBackend, IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, Lazy<RedisChannelConnection>> _connections = new(StringComparer.Ordinal);
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
        var password = request.Endpoint.ApiKey is { Length: > 0 } key ? key : null;
        ConfigurationOptions options;
        try
        {
            options = RedisChannelConnectionString.Parse(request.Endpoint.BaseUrl, password);
        }
        catch (FormatException exception)
        {
            throw Failure(request, AgentFailureReason.Misconfigured, $"The redis backend's baseUrl is not a usable Redis connection string: {RedisChannelConnectionString.Redact(exception.Message, password)}");
        }

        var (connection, replies) = await ListenAsync(request, options, password, ct);
        var requestId = request.MessageId ?? Guid.NewGuid().ToString("N");
        var payload = new JsonObject
        {
            ["request_id"] = requestId,
            ["session_id"] = request.SessionId,
            ["user_id"] = request.UserId,
            ["chat_id"] = request.ChatId,
            ["instance_id"] = request.InstanceId,
            ["message_id"] = request.MessageId,
            // Pub/sub messages carry text only: media are named in the text, like for Agno's agent-api shape.
            ["text"] = AgentMedia.Select(request, long.MaxValue, _ => false, "the Redis channel carries text only").TextWithNotes(request.Text),
            ["history"] = new JsonArray([.. request.History.Select(h => (JsonNode)new JsonObject { ["role"] = h.Role == AgentRole.User ? "user" : "assistant", ["text"] = h.Text })]),
            ["timestamp"] = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };

        var waiter = replies.Expect(requestId, request.SessionId);
        try
        {
            try
            {
                await connection.PublishRequestAsync(request.AgentId, payload.ToJsonString()).WaitAsync(ct);
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                throw Unreachable(request, connection.Describe(exception), exception);
            }

            var timeout = request.Endpoint.Timeout ?? DefaultTimeout;
            try
            {
                var text = await waiter.WaitAsync(timeout, time, ct);
                return new AgentReply(text) { SessionId = request.SessionId };
            }
            catch (TimeoutException)
            {
                throw Failure(request, AgentFailureReason.Timeout, $"No reply on {AgentReplySubscription.OutputChannel(request.AgentId)} within {timeout.TotalSeconds:0} s; is the agent subscribed to {AgentReplySubscription.InputChannel(request.AgentId)}?");
            }
        }
        finally
        {
            replies.Forget(requestId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _connections.Values.Where(l => l.IsValueCreated))
        {
            await lazy.Value.DisposeAsync();
        }

        _connections.Clear();
    }

    /// <summary>
    /// The connection for <paramref name="options"/> (created on first use) and the agent's subscription to its output
    /// channel, once Redis confirms it is listening. Waits up to <c>connectTimeout</c> (default 5 s) in all for a Redis
    /// that is down or restarting, then fails with <see cref="AgentFailureReason.ConnectionFailed"/>.
    /// </summary>
    private async Task<(RedisChannelConnection Connection, AgentReplySubscription Replies)> ListenAsync(AgentRequest request, ConfigurationOptions options, string? password, CancellationToken ct)
    {
        var connectTimeout = TimeSpan.FromMilliseconds(options.ConnectTimeout);
        var started = time.GetTimestamp();
        TimeSpan Left() => connectTimeout - time.GetElapsedTime(started) is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

        var connectionKey = $"{request.Endpoint.BaseUrl}\n{password}";
        var lazy = _connections.GetOrAdd(connectionKey, _ => new Lazy<RedisChannelConnection>(() => RedisChannelConnection.Start(options, _logger)));
        var connection = lazy.Value;
        AgentReplySubscription replies;
        try
        {
            replies = await connection.RepliesOfAsync(request.AgentId).WaitAsync(Left(), time, ct);
        }
        catch (TimeoutException exception) when (exception is not RedisTimeoutException)
        {
            throw Unreachable(request, connection.DescribeNoConnection(connectTimeout)); // connecting and subscribing go on in the background
        }
        catch (ArgumentException exception)
        {
            // StackExchange.Redis refused the configuration when creating the multiplexer: forget this one.
            _connections.TryRemove(KeyValuePair.Create(connectionKey, lazy));
            throw Failure(request, AgentFailureReason.Misconfigured, $"The redis backend's baseUrl is not a usable Redis connection string: {RedisChannelConnectionString.Redact(exception.Message, password)}");
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
        {
            throw Unreachable(request, connection.Describe(exception), exception);
        }

        if (!await replies.WaitUntilListeningAsync(Left(), time, ct))
        {
            throw Unreachable(request, connection.DescribeNoConnection(connectTimeout));
        }

        return (connection, replies);
    }

    private static AgentCallFailedException Unreachable(AgentRequest request, string reason, Exception? inner = null)
        => Failure(request, AgentFailureReason.ConnectionFailed, $"Redis at the agent's baseUrl is unreachable: {reason}", inner);

    private static AgentCallFailedException Failure(AgentRequest request, AgentFailureReason reason, string message, Exception? inner = null)
        => new("redis", request.AgentId, $"agent:{request.AgentId}", reason, 1, null, message, inner);
}
