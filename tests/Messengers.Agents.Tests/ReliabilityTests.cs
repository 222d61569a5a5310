using System.Diagnostics;
using Messengers.Testing;
using Messengers.Testing.Fakes.Agno;
using Microsoft.Extensions.Time.Testing;

namespace Messengers.Agents.Tests;

public sealed class ReliabilityTests : IAsyncLifetime
{
    private const string Key = "agno-very-secret-key";
    private FakeAgnoServer _agno = null!;

    public async ValueTask InitializeAsync() => _agno = await FakeAgnoServer.StartAsync();

    public ValueTask DisposeAsync() => _agno.DisposeAsync();

    private static AgentEndpoint EndpointOf(FakeAgnoServer server) => new(server.BaseUrl) { Shape = AgnoShape.AgentOs, ApiKey = Key };

    private AgentEndpoint Endpoint => EndpointOf(_agno);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_ServerFailsTwiceWith503_RetriesAndSucceedsOnThirdAttempt()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.FailNext(2, 503);

        var reply = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);

        Assert.Equal("agno:hello world", reply.Text);
        Assert.Equal(3, _agno.RequestCount);
    }

    [Fact]
    public async Task Run_ServerKeepsFailing_ThrowsAfterMaxAttemptsWithLastStatus()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.FailAlways(500);

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(AgentFailureReason.HttpStatus, ex.Reason);
        Assert.Equal(3, ex.Attempts);
        Assert.Equal(500, ex.LastStatusCode);
        Assert.Equal(3, _agno.RequestCount);
        Assert.Contains("check its logs", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ServerAnswers400_FailsAfterOneAttempt()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.FailNext(1, 400);

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(1, ex.Attempts);
        Assert.Equal(400, ex.LastStatusCode);
        Assert.Equal(1, _agno.RequestCount);
    }

    [Fact]
    public async Task Run_UnknownAgent_Fails404WithActionableMessageAndNoSecret()
    {
        await using var harness = AgentHarness.Create();
        _agno.KnownAgents = ["support"];

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(
            () => harness.Agno.RunAsync(AgentHarness.Request(Endpoint, agentId: "nope"), Ct));

        Assert.Equal(404, ex.LastStatusCode);
        Assert.Equal(1, _agno.RequestCount);
        Assert.Contains("Check the agent id", ex.Message, StringComparison.Ordinal);
        Assert.Equal("nope", ex.AgentId);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_429WithRetryAfterSeconds_WaitsThatLongThenSucceeds()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.RateLimitNext(1, RetryAfterValues.Seconds(1));
        var clock = Stopwatch.StartNew();

        var reply = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);

        Assert.Equal("agno:hello world", reply.Text);
        Assert.Equal(2, _agno.RequestCount);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Run_429WithRetryAfterHttpDate_WaitsUntilThatDate()
    {
        await using var harness = AgentHarness.Create();
        // HTTP-dates have whole seconds, so "2 s from now" means a wait between 1 and 2 s.
        _agno.Faults.RateLimitNext(1, RetryAfterValues.HttpDate(TimeSpan.FromSeconds(2)));
        var clock = Stopwatch.StartNew();

        var reply = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);

        Assert.Equal("agno:hello world", reply.Text);
        Assert.Equal(2, _agno.RequestCount);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Run_429AskingToWaitLongerThanAllowed_FailsAtOnce()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.RateLimitNext(1, RetryAfterValues.Seconds(3600));

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(429, ex.LastStatusCode);
        Assert.Equal(1, ex.Attempts);
        Assert.Contains("asked to retry after 3600 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ServerDown_FailsWithConnectionErrorAfterAllAttempts()
    {
        await using var harness = AgentHarness.Create();
        await _agno.GoDownAsync();

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(AgentFailureReason.ConnectionFailed, ex.Reason);
        Assert.Equal(3, ex.Attempts);
        Assert.Null(ex.LastStatusCode);
        Assert.Contains("is running", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ServerDownThenBack_SucceedsOnRetry()
    {
        await using var harness = AgentHarness.Create(o => o.BaseRetryDelay = TimeSpan.FromMilliseconds(300));
        await _agno.GoDownAsync();

        var call = harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);
        await _agno.ComeBackAsync();
        var reply = await call;

        Assert.Equal("agno:hello world", reply.Text);
    }

    [Fact]
    public async Task Run_SlowAgent_TimesOutEachAttempt()
    {
        await using var harness = AgentHarness.Create(o => o.MaxAttempts = 2);
        _agno.Faults.ReplyDelay = TimeSpan.FromSeconds(5);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(
            () => harness.Agno.RunAsync(AgentHarness.Request(Endpoint with { Timeout = TimeSpan.FromMilliseconds(200) }), Ct));

        Assert.Equal(AgentFailureReason.Timeout, ex.Reason);
        Assert.Equal(2, ex.Attempts);
        Assert.Equal(2, _agno.RequestCount);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed}");
        Assert.Contains("0.2 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_DefaultTimeout_IsSixtySeconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), new AgentBackendOptions().DefaultTimeout);
    }

    [Fact]
    public async Task Run_CallerCancels_ThrowsOperationCanceledWithoutRetry()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.ReplyDelay = TimeSpan.FromSeconds(5);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), cts.Token));

        Assert.Equal(1, _agno.RequestCount);
    }

    [Fact]
    public async Task Circuit_AfterThresholdFailures_OpensAndFailsFastWithoutCallingServer()
    {
        await using var harness = AgentHarness.Create(o =>
        {
            o.MaxAttempts = 1;
            o.CircuitFailureThreshold = 3;
        });
        _agno.Faults.FailAlways(500);
        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
            Assert.Equal(AgentFailureReason.HttpStatus, failed.Reason);
        }

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(AgentFailureReason.CircuitOpen, ex.Reason);
        Assert.Equal(0, ex.Attempts);
        Assert.NotNull(ex.RetryAt);
        Assert.Equal(3, _agno.RequestCount);
        Assert.Contains("circuit is open", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Circuit_RetriesCountTowardsThreshold_StopsRetryingOnceOpen()
    {
        await using var harness = AgentHarness.Create(o =>
        {
            o.MaxAttempts = 5;
            o.CircuitFailureThreshold = 2;
        });
        _agno.Faults.FailAlways(503);

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(AgentFailureReason.CircuitOpen, ex.Reason);
        Assert.Equal(2, ex.Attempts);
        Assert.Equal(503, ex.LastStatusCode);
        Assert.Equal(2, _agno.RequestCount);
    }

    [Fact]
    public async Task Circuit_OpenForOneEndpoint_OtherEndpointsKeepWorking()
    {
        await using var harness = AgentHarness.Create(o =>
        {
            o.MaxAttempts = 1;
            o.CircuitFailureThreshold = 2;
        });
        await using var dead = await FakeAgnoServer.StartAsync();
        dead.Faults.ReplyDelay = TimeSpan.FromSeconds(5);
        var deadEndpoint = EndpointOf(dead) with { Timeout = TimeSpan.FromMilliseconds(600) };
        _agno.FailingAgents = ["broken"];
        for (var i = 0; i < 2; i++)
        {
            await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(deadEndpoint), Ct));
            await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint, agentId: "broken"), Ct));
        }

        var clock = Stopwatch.StartNew();
        var deadAgain = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(deadEndpoint), Ct));
        var brokenAgain = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint, agentId: "broken"), Ct));
        var failFast = clock.Elapsed;
        var healthy = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint, agentId: "support"), Ct);

        Assert.Equal(AgentFailureReason.CircuitOpen, deadAgain.Reason);
        Assert.Equal(AgentFailureReason.CircuitOpen, brokenAgain.Reason);
        Assert.True(failFast < TimeSpan.FromMilliseconds(400), $"fail-fast took {failFast}");
        Assert.Equal(2, dead.RequestCount);
        Assert.Equal("agno:hello world", healthy.Text);
    }

    [Fact]
    public async Task Circuit_AfterBreak_HalfOpenProbeSucceedsAndCloses()
    {
        var time = new FakeTimeProvider();
        await using var harness = AgentHarness.Create(
            o =>
            {
                o.MaxAttempts = 1;
                o.CircuitFailureThreshold = 2;
                o.CircuitBreakDuration = TimeSpan.FromSeconds(30);
            },
            time);
        _agno.Faults.FailNext(2, 500);
        await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        time.Advance(TimeSpan.FromSeconds(29));
        var stillOpen = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        Assert.Equal(AgentFailureReason.CircuitOpen, stillOpen.Reason);
        Assert.Equal(2, _agno.RequestCount);

        time.Advance(TimeSpan.FromSeconds(2));
        var probe = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);
        var after = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);

        Assert.Equal("agno:hello world", probe.Text);
        Assert.Equal("agno:hello world", after.Text);
        Assert.Equal(4, _agno.RequestCount);
    }

    [Fact]
    public async Task Circuit_HalfOpenProbeFails_ReopensForAnotherBreak()
    {
        var time = new FakeTimeProvider();
        await using var harness = AgentHarness.Create(
            o =>
            {
                o.MaxAttempts = 1;
                o.CircuitFailureThreshold = 2;
            },
            time);
        _agno.Faults.FailNext(3, 500);
        await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        time.Advance(TimeSpan.FromSeconds(31));

        var probe = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        var next = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));

        Assert.Equal(AgentFailureReason.HttpStatus, probe.Reason);
        Assert.Equal(AgentFailureReason.CircuitOpen, next.Reason);
        Assert.Equal(3, _agno.RequestCount);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("agno:hello world", (await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct)).Text);
    }

    [Fact]
    public async Task Circuit_HalfOpen_LetsOneProbeThroughAndFailsOthersFast()
    {
        var time = new FakeTimeProvider();
        await using var harness = AgentHarness.Create(
            o =>
            {
                o.MaxAttempts = 1;
                o.CircuitFailureThreshold = 1;
            },
            time);
        _agno.Faults.FailNext(1, 500);
        await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        time.Advance(TimeSpan.FromSeconds(31));
        _agno.Faults.ReplyDelay = TimeSpan.FromMilliseconds(500);

        var probe = harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);
        while (_agno.RequestCount < 2)
        {
            await Task.Delay(10, Ct);
        }

        var other = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        Assert.Equal(AgentFailureReason.CircuitOpen, other.Reason);
        Assert.Equal("agno:hello world", (await probe).Text);
        _agno.Faults.ReplyDelay = TimeSpan.Zero;
        Assert.Equal("agno:hello world", (await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct)).Text);
        Assert.Equal(3, _agno.RequestCount);
    }

    [Fact]
    public async Task Circuit_NonTransientAnswerBetweenFailures_ResetsTheCount()
    {
        await using var harness = AgentHarness.Create(o =>
        {
            o.MaxAttempts = 1;
            o.CircuitFailureThreshold = 2;
        });
        _agno.Faults.FailNext(1, 500);
        _agno.Faults.FailNext(1, 404);
        _agno.Faults.FailNext(1, 500);
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct));
        }

        var reply = await harness.Agno.RunAsync(AgentHarness.Request(Endpoint), Ct);

        Assert.Equal("agno:hello world", reply.Text);
        Assert.Equal(4, _agno.RequestCount);
    }

    [Fact]
    public async Task Run_FailuresWithApiKey_NeverLogOrExposeTheKey()
    {
        await using var harness = AgentHarness.Create();
        _agno.Faults.FailNext(2, 500);
        _agno.Faults.FailNext(1, 401);
        var endpoint = Endpoint with { Headers = new Dictionary<string, string> { ["X-Api-Token"] = "header-secret" } };
        var request = AgentHarness.Request(endpoint);

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(() => harness.Agno.RunAsync(request, Ct));

        Assert.Equal(401, ex.LastStatusCode);
        Assert.Contains("API key", ex.Message, StringComparison.Ordinal);
        Assert.NotEmpty(harness.Logs.Lines);
        foreach (var text in harness.Logs.Lines.Append(ex.ToString()).Append(request.ToString()).Append(endpoint.ToString()))
        {
            Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
            Assert.DoesNotContain("header-secret", text, StringComparison.Ordinal);
        }
    }
}
