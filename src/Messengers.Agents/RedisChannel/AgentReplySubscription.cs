using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using PubSubChannel = StackExchange.Redis.RedisChannel;

namespace Messengers.Agents.RedisChannel;

/// <summary>
/// One agent's output channel (<c>agent:{agentId}:output</c>) on one Redis connection, and the requests waiting for a
/// reply on it. Messages are handled one at a time in arrival order (a <see cref="ChannelMessageQueue"/>). A reply goes
/// to the waiting request named by its <c>request_id</c>, or, without one, to the oldest waiting request of its
/// <c>session_id</c>; anything else on the channel is ignored (other gateways may share it). After a lost connection
/// StackExchange.Redis subscribes again by itself; <see cref="WaitUntilListeningAsync"/> tells when it has.
/// </summary>
internal sealed class AgentReplySubscription
{
    private static readonly TimeSpan ListeningPollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly string[] ReplyTextFields = ["text", "response", "content", "message"];
    private static readonly string[] RequestIdField = ["request_id"];
    private static readonly string[] SessionIdField = ["session_id"];

    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _byRequest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _bySession = new(StringComparer.Ordinal);
    private readonly ISubscriber _subscriber;
    private readonly PubSubChannel _output;
    private ChannelMessageQueue? _queue;

    private AgentReplySubscription(ISubscriber subscriber, PubSubChannel output)
    {
        _subscriber = subscriber;
        _output = output;
    }

    /// <summary>Subscribes to <c>agent:{agentId}:output</c> and returns once Redis confirmed the subscription.</summary>
    public static async Task<AgentReplySubscription> SubscribeAsync(ISubscriber subscriber, string agentId)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        var replies = new AgentReplySubscription(subscriber, PubSubChannel.Literal(OutputChannel(agentId)));
        ChannelMessageQueue queue;
        try
        {
            queue = await subscriber.SubscribeAsync(replies._output);
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
        {
            // The subscription stays registered in the multiplexer even when Redis never confirmed it; drop it so that
            // the next attempt starts clean (and never delivers a message twice).
            try
            {
                await subscriber.UnsubscribeAsync(replies._output, null, CommandFlags.FireAndForget);
            }
            catch (Exception cleanup) when (cleanup is RedisException or ObjectDisposedException)
            {
                // the multiplexer is closing: nothing left to drop
            }

            throw;
        }

        replies._queue = queue;
        queue.OnMessage(replies.OnOutput);
        return replies;
    }

    public static string InputChannel(string agentId) => $"agent:{agentId}:input";

    public static string OutputChannel(string agentId) => $"agent:{agentId}:output";

    /// <summary>True while Redis has confirmed the subscription on a live connection.</summary>
    public bool IsListening => _subscriber.SubscribedEndpoint(_output) is not null && _subscriber.IsConnected(_output);

    /// <summary>Waits until <see cref="IsListening"/> (after a reconnect); false when that did not happen within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitUntilListeningAsync(TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(time);
        var started = time.GetTimestamp();
        while (!IsListening)
        {
            if (time.GetElapsedTime(started) >= timeout)
            {
                return false;
            }

            await Task.Delay(ListeningPollInterval, time, ct);
        }

        return true;
    }

    /// <summary>Registers a request before it is published, so that even an instant reply finds it.</summary>
    public Task<string> Expect(string requestId, string sessionId)
    {
        var waiter = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _byRequest[requestId] = waiter;
        _bySession.GetOrAdd(sessionId, _ => new()).Enqueue(requestId);
        return waiter.Task;
    }

    public void Forget(string requestId) => _byRequest.TryRemove(requestId, out _);

    /// <summary>Stops delivering messages to this subscription (the connection is about to close).</summary>
    public Task StopAsync() => _queue?.UnsubscribeAsync(CommandFlags.FireAndForget) ?? Task.CompletedTask;

    private void OnOutput(ChannelMessage message)
    {
        if (message.Message.IsNullOrEmpty || (string?)message.Message is not { } text)
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

        if (reply is not JsonObject fields
            || !TryGetFirstString(fields, ReplyTextFields, out var body) || body is null
            || !TryGetFirstString(fields, RequestIdField, out var requestId))
        {
            return; // not a reply this gateway can read
        }

        if (requestId is null && TryGetFirstString(fields, SessionIdField, out var sessionId) && sessionId is not null && _bySession.TryGetValue(sessionId, out var queue))
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

    /// <summary>
    /// The first of <paramref name="names"/> present in <paramref name="reply"/> with a value (null when none is); false
    /// when that value is not a JSON string, which makes the whole message unreadable.
    /// </summary>
    private static bool TryGetFirstString(JsonObject reply, string[] names, out string? value)
    {
        foreach (var name in names)
        {
            switch (reply[name])
            {
                case null:
                    continue;
                case JsonValue node when node.TryGetValue<string>(out var text):
                    value = text;
                    return true;
                default:
                    value = null;
                    return false;
            }
        }

        value = null;
        return true;
    }
}
