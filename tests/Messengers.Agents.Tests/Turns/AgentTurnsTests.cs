using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Agents.Turns;

namespace Messengers.Agents.Tests.Turns;

/// <summary>Which chats an agent turn answers, how a debounced batch becomes one turn, and which failures it retries.</summary>
public sealed class AgentTurnsTests
{
    private static ChatMessage Message(string chatId, bool isGroup = false, string body = "hi", string id = "m1")
        => new() { InstanceId = "inst", MessageId = id, ChatId = chatId, IsGroup = isGroup, Body = body };

    [Fact]
    public void Answers_Defaults_PrivateYesGroupsNo()
    {
        var agent = new AgentSettings();

        Assert.True(AgentChatFilter.Answers(agent, Message("alice")));
        Assert.False(AgentChatFilter.Answers(agent, Message("team", isGroup: true)));
        Assert.True(AgentChatFilter.Answers(agent with { AnswerGroups = true }, Message("team", isGroup: true)));
        Assert.False(AgentChatFilter.Answers(agent with { AnswerPrivate = false }, Message("alice")));
        Assert.False(AgentChatFilter.Answers(agent with { Enabled = false }, Message("alice")));
    }

    [Fact]
    public void Answers_AllowList_OnlyListedChatsAndStillByKind()
    {
        var agent = new AgentSettings { AllowChats = ["alice", "team"], AnswerGroups = false };

        Assert.True(AgentChatFilter.Answers(agent, Message("alice")));
        Assert.False(AgentChatFilter.Answers(agent, Message("bob")));
        Assert.False(AgentChatFilter.Answers(agent, Message("team", isGroup: true)));
        Assert.False(AgentChatFilter.Answers(agent, Message("ALICE")));
    }

    [Fact]
    public void Answers_DenyList_WinsOverEverything()
    {
        var agent = new AgentSettings { DenyChats = ["bob"], AnswerGroups = true };

        Assert.False(AgentChatFilter.Answers(agent, Message("bob")));
        Assert.True(AgentChatFilter.Answers(agent, Message("alice")));
    }

    [Fact]
    public void Validate_GoodSettings_NoErrors()
    {
        var errors = new Dictionary<string, string[]>();

        AgentChatFilter.Validate(new AgentSettings { AllowChats = ["a", "b"], DenyChats = ["c"], DebounceSeconds = 300 }, errors);

        Assert.Empty(errors);
    }

    [Fact]
    public void Validate_NullListTooManyAndNegativeDebounce_EachFieldNamed()
    {
        var errors = new Dictionary<string, string[]>();

        AgentChatFilter.Validate(new AgentSettings { AllowChats = null!, DenyChats = [.. Enumerable.Range(0, 1001).Select(i => "c" + i)], DebounceSeconds = -1 }, errors);

        Assert.Contains("not null", Assert.Single(errors["agent.allowChats"]), StringComparison.Ordinal);
        Assert.Contains("At most 1000", Assert.Single(errors["agent.denyChats"]), StringComparison.Ordinal);
        Assert.Contains("between 0", Assert.Single(errors["agent.debounceSeconds"]), StringComparison.Ordinal);
    }

    [Fact]
    public void TurnText_SeveralMessages_JoinedInOrderWithoutEmptyBodies()
    {
        Assert.Equal("one\nthree", AgentTurns.TurnText([Message("a", body: "one"), Message("a", body: "", id: "m2"), Message("a", body: "three", id: "m3")]));
        Assert.Equal("  spaced  ", AgentTurns.TurnText([Message("a", body: "  spaced  ")]));
    }

    [Fact]
    public void DebounceDue_QuietUser_DueOneWindowAfterTheLastMessage()
    {
        var first = new DateTimeOffset(2026, 11, 22, 7, 0, 0, TimeSpan.Zero);

        Assert.Equal(first.AddSeconds(7), AgentTurns.DebounceDue(first, first.AddSeconds(2), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void DebounceDue_UserKeepsTyping_DueAtMostThreeWindowsAfterTheFirstMessage()
    {
        var first = new DateTimeOffset(2026, 11, 22, 7, 0, 0, TimeSpan.Zero);

        Assert.Equal(first.AddSeconds(15), AgentTurns.DebounceDue(first, first.AddSeconds(14), TimeSpan.FromSeconds(5)));
    }

    public static TheoryData<AgentFailureReason, int?, bool> Failures => new()
    {
        { AgentFailureReason.Timeout, null, true },
        { AgentFailureReason.ConnectionFailed, null, true },
        { AgentFailureReason.CircuitOpen, null, true },
        { AgentFailureReason.HttpStatus, 503, true },
        { AgentFailureReason.HttpStatus, 429, true },
        { AgentFailureReason.HttpStatus, 408, true },
        { AgentFailureReason.HttpStatus, 404, false },
        { AgentFailureReason.HttpStatus, 401, false },
        { AgentFailureReason.Misconfigured, null, false },
        { AgentFailureReason.InvalidReply, null, false },
        { AgentFailureReason.AgentError, null, false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void IsWorthRetrying_AgentFailure_OnlyTransientOnes(AgentFailureReason reason, int? status, bool expected)
    {
        var failure = new AgentCallFailedException("agno", "support", "http://127.0.0.1:1", reason, 1, status, "failed");

        Assert.Equal(expected, AgentTurns.IsWorthRetrying(failure));
    }

    [Fact]
    public void IsWorthRetrying_OwnInfrastructureFailure_Retried()
        => Assert.True(AgentTurns.IsWorthRetrying(new TimeoutException("grain call timed out")));

    [Fact]
    public void Endpoint_AgentSettings_CarriedOverWithTheKeyAndTheShape()
    {
        var agent = new AgentSettings { Backend = "agno", BaseUrl = "http://agno.local:7777", Shape = "playground", Stream = true, TimeoutSeconds = 45, Model = "gpt-x", SystemPrompt = "be brief" };

        var endpoint = AgentTurns.Endpoint(agent, "agent-key");

        Assert.Equal(("http://agno.local:7777", "agent-key", AgnoShape.Playground, true), (endpoint.BaseUrl, endpoint.ApiKey, endpoint.Shape, endpoint.Stream));
        Assert.Equal((TimeSpan.FromSeconds(45), "gpt-x", "be brief"), (endpoint.Timeout, endpoint.Model, endpoint.SystemPrompt));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(601, 600)]
    [InlineData(600, 600)]
    public void Endpoint_TimeoutOutOfRange_ClampedToOneSecondToTenMinutes(int seconds, int expected)
        => Assert.Equal(TimeSpan.FromSeconds(expected), AgentTurns.Endpoint(new AgentSettings { TimeoutSeconds = seconds }, null).Timeout);

    [Fact]
    public void Endpoint_NoUrlUnknownShapeNoKey_EmptyUrlAgentOsAndNoKey()
    {
        var endpoint = AgentTurns.Endpoint(new AgentSettings { BaseUrl = null, Shape = "nonsense" }, null);

        Assert.Equal(("", AgnoShape.AgentOs, (string?)null), (endpoint.BaseUrl, endpoint.Shape, endpoint.ApiKey));
    }

    [Fact]
    public void SettingsRules_KeyInBaseUrl_RefusedNamingTheAgentKeyCredential()
    {
        var userInfo = new Dictionary<string, string[]>();
        var redisPassword = new Dictionary<string, string[]>();
        var clean = new Dictionary<string, string[]>();

        AgentSettingsRules.Validate(new AgentSettings { Backend = "agno", BaseUrl = "http://user:secret@agno.local" }, userInfo);
        AgentSettingsRules.Validate(new AgentSettings { Backend = "redis", BaseUrl = "127.0.0.1:6379,password=secret" }, redisPassword);
        AgentSettingsRules.Validate(new AgentSettings { Backend = "agno", BaseUrl = "http://agno.local" }, clean);

        Assert.Contains("credentials." + AgentConfig.ApiKeyCredential, Assert.Single(userInfo["agent.baseUrl"]), StringComparison.Ordinal);
        Assert.Contains("credentials." + AgentConfig.ApiKeyCredential, Assert.Single(redisPassword["agent.baseUrl"]), StringComparison.Ordinal);
        Assert.Empty(clean);
    }
}
