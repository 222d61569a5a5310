using System.Text.Json.Nodes;
using Messengers.Agents.RedisChannel;
using Messengers.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Messengers.Agents.Tests.RedisChannel;

/// <summary>The Redis channel backend against a real redis-server and an agent that answers on its output channel.</summary>
public sealed class RedisChannelBackendTests : IAsyncLifetime
{
    /// <summary>Options that make a test against an unreachable Redis fail within about two seconds instead of ten.</summary>
    private const string FastFailure = ",connectTimeout=1000,commandTimeout=1000";

    private RedisServer _redis = null!;
    private FakeRedisAgent _agent = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _agent = await FakeRedisAgent.StartAsync(_redis.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private AgentRequest Request(string text, string messageId, TimeSpan? timeout = null, string agentId = "support", string? baseUrl = null, string? apiKey = null)
        => new("inst", "chat1", agentId, "session-1", "user-1", text, [], [new AgentHistoryTurn(AgentRole.User, "earlier")], new AgentEndpoint(baseUrl ?? _redis.ConnectionString) { Timeout = timeout, ApiKey = apiKey })
        {
            MessageId = messageId,
        };

    /// <summary>A connection to the test server allowed to run CONFIG, ACL and CLIENT.</summary>
    private async Task<ConnectionMultiplexer> AdminAsync() => await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");

    [Fact]
    public async Task Run_AgentAnswersOnOutput_ReturnsReplyAndPublishesDocumentedPayload()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var reply = await backend.RunAsync(Request("hello", "m1"), Ct);

        Assert.Equal("agent says: hello", reply.Text);
        Assert.Equal("session-1", reply.SessionId);
        var sent = Assert.Single(_agent.Received);
        Assert.Equal("m1", (string?)sent["request_id"]);
        Assert.Equal("session-1", (string?)sent["session_id"]);
        Assert.Equal("user-1", (string?)sent["user_id"]);
        Assert.Equal("chat1", (string?)sent["chat_id"]);
        Assert.Equal("inst", (string?)sent["instance_id"]);
        Assert.Equal("m1", (string?)sent["message_id"]);
        Assert.Equal("hello", (string?)sent["text"]);
        Assert.Equal("user", (string?)sent["history"]![0]!["role"]);
        Assert.Equal("earlier", (string?)sent["history"]![0]!["text"]);
        Assert.True((long)sent["timestamp"]! > 0);
    }

    [Fact]
    public async Task Run_TurnWithPhoto_NamesThePhotoInTheText()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);
        var request = Request("look", "m-photo") with { Attachments = [new AgentAttachment("photo.jpg", "image/jpeg", new byte[2048])] };

        var reply = await backend.RunAsync(request, Ct);

        const string Expected = "look\n[attachment not sent: photo.jpg (image/jpeg, 2 KB): the Redis channel carries text only]";
        Assert.Equal("agent says: " + Expected, reply.Text);
        Assert.Equal(Expected, (string?)Assert.Single(_agent.Received)["text"]);
    }

    [Fact]
    public async Task Run_ConcurrentRequests_RepliesMatchedByRequestIdNotArrivalOrder()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var slow = backend.RunAsync(Request("slow one", "m-slow"), Ct);
        var fast = backend.RunAsync(Request("fast one", "m-fast"), Ct);

        Assert.Equal("agent says: fast one", (await fast).Text);
        Assert.Equal("agent says: slow one", (await slow).Text);
    }

    [Fact]
    public async Task Run_NoAgentListening_FailsWithTimeoutNamingTheChannel()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("anyone?", "m2", TimeSpan.FromMilliseconds(300), agentId: "nobody"), Ct));

        Assert.Equal(AgentFailureReason.Timeout, error.Reason);
        Assert.Contains("agent:nobody:input", error.Message, StringComparison.Ordinal);
        Assert.Contains("No reply on agent:nobody:output", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ReplyWithoutRequestId_GoesToTheOldestRequestOfItsSessionAndOtherTrafficIsIgnored()
    {
        await using var agent = await FakeRedisAgent.StartAsync(_redis.ConnectionString, "hub", request =>
        [
            "not json at all",
            new JsonObject { ["request_id"] = "someone-else", ["text"] = "for another gateway" }.ToJsonString(),
            new JsonObject { ["session_id"] = (string?)request["session_id"] }.ToJsonString(),
            new JsonObject { ["session_id"] = (string?)request["session_id"], ["response"] = "by session: " + (string?)request["text"] }.ToJsonString(),
        ]);
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var reply = await backend.RunAsync(Request("hi", "m-session", agentId: "hub"), Ct);

        Assert.Equal("by session: hi", reply.Text);
    }

    [Fact]
    public async Task Run_AfterRedisRestart_ReconnectsAndAnswers()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);
        Assert.Equal("agent says: before", (await backend.RunAsync(Request("before", "m-before"), Ct)).Text);

        await _redis.RestartAsync();
        await _agent.WaitUntilListeningAsync();
        var reply = await backend.RunAsync(Request("after", "m-after"), Ct);

        Assert.Equal("agent says: after", reply.Text);
    }

    [Fact]
    public async Task Run_WhileRedisIsDown_FailsAsConnectionFailedAndRecoversAfterRestart()
    {
        var baseUrl = _redis.ConnectionString + FastFailure;
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);
        Assert.Equal("agent says: before", (await backend.RunAsync(Request("before", "m-before", baseUrl: baseUrl), Ct)).Text);

        await _redis.KillAsync();
        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("during", "m-during", baseUrl: baseUrl), Ct));
        await _redis.RestartAsync();
        await _agent.WaitUntilListeningAsync();
        var reply = await backend.RunAsync(Request("after", "m-after", baseUrl: baseUrl), Ct);

        Assert.Equal(AgentFailureReason.ConnectionFailed, error.Reason);
        Assert.StartsWith("Redis at the agent's baseUrl is unreachable: ", error.Message, StringComparison.Ordinal);
        Assert.Equal("agent says: after", reply.Text);
    }

    [Fact]
    public async Task Run_UnreachableRedis_FailsAsConnectionFailedWithoutThePassword()
    {
        const string Password = "unreachable-s3cret";
        var logs = new CapturingLoggerProvider();
        using var loggers = new LoggerFactory([logs]);
        await using var backend = new RedisChannelBackend(TimeProvider.System, loggers);
        await _redis.KillAsync();

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("anyone?", "m3", baseUrl: _redis.ConnectionString + FastFailure, apiKey: Password), Ct));

        Assert.Equal(AgentFailureReason.ConnectionFailed, error.Reason);
        Assert.StartsWith("Redis at the agent's baseUrl is unreachable: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Lines, line => line.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_PasswordInEndpointKey_AuthenticatesWithIt()
    {
        const string Password = "pa,ss=word;1"; // a comma and an equals sign: set as is, never spliced into the connection string
        await using (var admin = await AdminAsync())
        {
            await admin.GetDatabase().ExecuteAsync("CONFIG", "SET", "requirepass", Password);
        }

        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var reply = await backend.RunAsync(Request("with password", "m-auth", apiKey: Password), Ct);

        Assert.Equal("agent says: with password", reply.Text);
    }

    [Fact]
    public async Task Run_WrongPassword_FailsAsConnectionFailedWithoutThePasswordInMessageOrLogs()
    {
        const string Wrong = "wrong-s3cret-value";
        await using (var admin = await AdminAsync())
        {
            await admin.GetDatabase().ExecuteAsync("CONFIG", "SET", "requirepass", "the-right-one");
        }

        var logs = new CapturingLoggerProvider();
        using var loggers = new LoggerFactory([logs]);
        await using var backend = new RedisChannelBackend(TimeProvider.System, loggers);

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("let me in", "m-wrong", baseUrl: _redis.ConnectionString + FastFailure, apiKey: Wrong), Ct));

        Assert.Equal(AgentFailureReason.ConnectionFailed, error.Reason);
        Assert.Contains("AuthenticationFailure", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Lines, line => line.Contains(Wrong, StringComparison.Ordinal));
        Assert.Empty(_agent.Received);
    }

    [Fact]
    public async Task Run_AclUserAndClientName_ConnectsAsThatUserWithThatName()
    {
        await using var admin = await AdminAsync();
        await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "gateway", "on", ">gateway-pass", "~*", "&*", "+@all");
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var reply = await backend.RunAsync(Request("as gateway", "m-acl", baseUrl: _redis.ConnectionString + ",user=gateway,name=messengers-agents,defaultDatabase=2", apiKey: "gateway-pass"), Ct);

        Assert.Equal("agent says: as gateway", reply.Text);
        var clients = ((string?)await admin.GetDatabase().ExecuteAsync("CLIENT", "LIST"))!.Split('\n');
        Assert.Contains(clients, c => c.Contains(" name=messengers-agents ", StringComparison.Ordinal) && c.Contains(" user=gateway ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_SslAgainstPlainServer_FailsAsConnectionFailed()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("tls?", "m-tls", baseUrl: _redis.ConnectionString + ",ssl=true" + FastFailure), Ct));

        Assert.Equal(AgentFailureReason.ConnectionFailed, error.Reason);
        Assert.Empty(_agent.Received);
    }

    [Fact]
    public async Task Run_UnknownConnectionStringOption_FailsAsMisconfiguredWithoutThePassword()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("hi", "m-bad", baseUrl: _redis.ConnectionString + ",bogusOption=1", apiKey: "bad-config-s3cret"), Ct));

        Assert.Equal(AgentFailureReason.Misconfigured, error.Reason);
        Assert.Contains("bogusOption", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("bad-config-s3cret", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NoBaseUrl_FailsAsMisconfigured()
    {
        await using var backend = new RedisChannelBackend(TimeProvider.System, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<AgentCallFailedException>(() => backend.RunAsync(Request("hi", "m-none", baseUrl: " "), Ct));

        Assert.Equal(AgentFailureReason.Misconfigured, error.Reason);
        Assert.Equal("The redis backend needs the Redis connection string as its baseUrl.", error.Message);
    }
}
