using Messengers.Abstractions.Agents;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Agents;
using Messengers.Data.DeadLetters;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Testing;
using Orleans.Streams;

namespace Messengers.Grains.Tests;

[Collection(GrainsCollection.Name)]
public sealed class ChatAgentGrainTests(GrainsCluster cluster)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Inbound_OneMessage_AnsweredOnceAndLeavesTheOutbox()
    {
        var id = await ReadyAsync();

        await Receive(id, "c1", "m1", "hello");

        var replies = await RepliesAsync(id, "c1", 1);
        Assert.Equal("Re: hello", Assert.Single(replies).Body);
        Assert.Equal("reply-m1", replies[0].ClientMessageId);
        await Eventually.UntilAsync(async () => !await InOutboxAsync(id, "m1"), what: "m1 left the outbox");
        Assert.Equal(0, await Agent(id, "c1").GetPendingCountAsync());
    }

    [Fact]
    public async Task Inbound_ReplayedAfterItWasAnswered_NotAnsweredAgain()
    {
        var id = await ReadyAsync();
        var message = await Receive(id, "c1", "m1", "hello");
        await RepliesAsync(id, "c1", 1);

        // What the start-up replay does with a message whose outbox mark had not been written.
        await Stream(MessageStreams.Inbound, id, "c1").OnNextAsync(message);
        await Task.Delay(300, Cancel);

        Assert.Single(cluster.Agent.RequestsFor(id, "c1"));
        Assert.Single(await RepliesAsync(id, "c1", 1));
    }

    [Fact]
    public async Task Inbound_WithDebounce_MessagesInTheWindowAnsweredAsOneTurn()
    {
        var id = await ReadyAsync(new AgentSettings { Backend = "scripted", DebounceSeconds = 1 });

        await Receive(id, "c1", "m1", "one");
        await Receive(id, "c1", "m2", "two");
        await Receive(id, "c1", "m3", "three");

        var reply = Assert.Single(await RepliesAsync(id, "c1", 1));
        Assert.Equal("Re: one\ntwo\nthree", reply.Body);
        Assert.Equal("reply-m1", reply.ClientMessageId);
        Assert.Single(cluster.Agent.RequestsFor(id, "c1"));
    }

    [Fact]
    public async Task Inbound_AgentFailsTwiceThenAnswers_RetriedWithBackoffAndAnsweredOnce()
    {
        var id = await ReadyAsync();
        cluster.Agent.FailNext(id, 2, Failure(AgentFailureReason.ConnectionFailed, "agent down", null));

        await Receive(id, "c1", "m1", "hello");

        Assert.Equal("Re: hello", Assert.Single(await RepliesAsync(id, "c1", 1)).Body);
        Assert.Equal(3, cluster.Agent.RequestsFor(id, "c1").Count);
    }

    [Fact]
    public async Task Inbound_AgentKeepsFailing_DeadLetteredAfterMaxAttemptsAndLaterMessagesGoOn()
    {
        var id = await ReadyAsync();
        cluster.Agent.FailNext(id, 3, Failure(AgentFailureReason.Timeout, "too slow", null));

        await Receive(id, "c1", "m1", "lost");
        await Receive(id, "c1", "m2", "next");

        var replies = await RepliesAsync(id, "c1", 1);
        Assert.Equal("Re: next", Assert.Single(replies).Body);
        var deadLetters = cluster.SiloService<IAgentDeadLetterStore>();
        var letter = Assert.Single(await Eventually.UntilAsync(() => deadLetters.ListAsync(id, null, null, 10, Cancel), l => l.Count > 0, what: "dead letter"));
        Assert.Equal(["m1"], letter.MessageIds);
        Assert.Equal(3, letter.Attempts);
        Assert.Equal(nameof(AgentFailureReason.Timeout), letter.Reason);
        await Eventually.UntilAsync(async () => !await InOutboxAsync(id, "m1"), what: "dead-lettered message left the outbox");
    }

    [Fact]
    public async Task Inbound_FailureRetryingCannotFix_DeadLetteredAtOnceThenRetriedByTheApi()
    {
        var id = await ReadyAsync();
        cluster.Agent.FailNext(id, 1, Failure(AgentFailureReason.HttpStatus, "bad request", 400));

        await Receive(id, "c1", "m1", "hello");
        var deadLetters = cluster.SiloService<IAgentDeadLetterStore>();
        var letter = await Eventually.UntilAsync(async () => (await deadLetters.ListAsync(id, null, null, 10, Cancel)) is [var first, ..] ? first : null, l => l is not null, what: "dead letter");

        Assert.Equal(1, letter!.Attempts);
        Assert.True(await Agent(id, "c1").RetryDeadLetterAsync(letter.Id));
        Assert.Equal("Re: hello", Assert.Single(await RepliesAsync(id, "c1", 1)).Body);
        Assert.Equal(AgentDeadLetterStatus.Resolved, (await deadLetters.GetAsync(id, letter.Id, Cancel))!.Status);
    }

    [Fact]
    public async Task PendingTurn_GrainDeactivatedBetweenRetries_ResumedFromStateWithItsAttemptsWhenReplayed()
    {
        var id = await ReadyAsync();
        var agent = Agent(id, "c1");
        cluster.Agent.FailNext(id, 5, Failure(AgentFailureReason.ConnectionFailed, "agent down", null));
        var message = await Receive(id, "c1", "m1", "hello");
        await Receive(id, "c1", "m2", "second");
        await Eventually.UntilAsync(() => Task.FromResult(cluster.Agent.RequestsFor(id, "c1").Count >= 2), what: "two calls failed");

        // The activation is lost between retries (a restart); the start-up replay publishes its messages again.
        await cluster.Cluster.DeactivateAsync(agent);
        await Stream(MessageStreams.Inbound, id, "c1").OnNextAsync(message);

        // 3 calls in all for m1: the third one fails too, so m1 is dead-lettered with 3 attempts (not given 3 new
        // ones); m2, queued behind it, then fails twice more and is answered by its third call.
        var deadLetters = cluster.SiloService<IAgentDeadLetterStore>();
        var letter = Assert.Single(await Eventually.UntilAsync(() => deadLetters.ListAsync(id, null, null, 10, Cancel), l => l.Count > 0, TimeSpan.FromSeconds(20), "m1 dead-lettered"));
        Assert.Equal("m1", letter.MessageId);
        Assert.Equal(3, letter.Attempts);
        Assert.Equal("Re: second", Assert.Single(await RepliesAsync(id, "c1", 1)).Body);
        Assert.Equal(6, cluster.Agent.RequestsFor(id, "c1").Count);
    }

    [Fact]
    public async Task Inbound_AgentPausedInChat_NotAnsweredButLeavesTheOutbox()
    {
        var id = await ReadyAsync();
        await cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1")).SetAgentPausedAsync(true);

        await Receive(id, "c1", "m1", "hello");

        await Eventually.UntilAsync(async () => !await InOutboxAsync(id, "m1"), what: "m1 left the outbox");
        Assert.Empty(cluster.Agent.RequestsFor(id, "c1"));
    }

    [Fact]
    public async Task Inbound_PausedAfterAnAnsweredTurn_NotAnsweredUntilResumed()
    {
        var id = await ReadyAsync();
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1"));
        await Receive(id, "c1", "m1", "first");
        await RepliesAsync(id, "c1", 1); // the agent grain is active and knows the chat is not paused

        await chat.SetAgentPausedAsync(true);
        await Receive(id, "c1", "m2", "while a human answers");
        await Eventually.UntilAsync(async () => !await InOutboxAsync(id, "m2"), what: "m2 left the outbox");
        await chat.SetAgentPausedAsync(false);
        await Receive(id, "c1", "m3", "after");

        var replies = await RepliesAsync(id, "c1", 2);
        Assert.Equal(["Re: first", "Re: after"], replies.Select(r => r.Body));
        Assert.Equal(2, cluster.Agent.RequestsFor(id, "c1").Count);
    }

    [Fact]
    public async Task Inbound_AfterOwnPauseKeyword_NotAnswered()
    {
        var id = await ReadyAsync();
        await Receive(id, "c1", "m1", "first");
        await RepliesAsync(id, "c1", 1);

        await cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1")).ReceiveAsync(new InboundMessage { MessageId = "own-1", ChatId = "c1", Body = "#human", IsFromMe = true });
        await Eventually.UntilAsync(() => cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1")).IsAgentPausedAsync(), what: "paused");
        await Receive(id, "c1", "m2", "to the human");

        await Eventually.UntilAsync(async () => !await InOutboxAsync(id, "m2"), what: "m2 left the outbox");
        Assert.Single(cluster.Agent.RequestsFor(id, "c1"));
    }

    [Fact]
    public async Task Inbound_OwnPauseKeyword_PausesTheChat()
    {
        var id = await ReadyAsync();

        await cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1")).ReceiveAsync(new InboundMessage { MessageId = "own-1", ChatId = "c1", Body = "#human", IsFromMe = true });

        await Eventually.UntilAsync(() => cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1")).IsAgentPausedAsync(), what: "paused");
    }

    [Fact]
    public async Task Inbound_LongAnswer_SplitToTheProviderLimitEachPartOnce()
    {
        var id = await ReadyAsync();

        await Receive(id, "c1", "m1", "a fairly long question indeed");

        var replies = await RepliesAsync(id, "c1", 2);
        Assert.All(replies, r => Assert.True(r.Body.Length <= 20));
        Assert.Equal(["reply-m1", "reply-m1-1"], replies.Select(r => r.ClientMessageId!).Take(2));
    }

    [Fact]
    public async Task Inbound_SlowAgent_TypingShownThenCleared()
    {
        var id = await ReadyAsync();
        cluster.Agent.Hold();
        try
        {
            await Receive(id, "c1", "m1", "hello");
            await Eventually.UntilAsync(() => Task.FromResult(cluster.Provider.Typing.TryGetValue(id, out var t) && t.Contains(("c1", true))), what: "typing on");
        }
        finally
        {
            cluster.Agent.Release();
        }

        await RepliesAsync(id, "c1", 1);
        Assert.Equal(("c1", true), cluster.Provider.Typing[id].First());
    }

    private static AgentCallFailedException Failure(AgentFailureReason reason, string message, int? status)
        => new("scripted", "scripted", "test", reason, 1, status, message);

    private async Task<string> ReadyAsync(AgentSettings? agent = null)
    {
        var id = await cluster.CreateInstanceAsync(agent);
        await Eventually.UntilAsync(cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");
        return id;
    }

    private async Task<ChatMessage> Receive(string id, string chatId, string messageId, string body)
    {
        var message = new InboundMessage { MessageId = messageId, ChatId = chatId, From = chatId, Body = body };
        await cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, chatId)).ReceiveAsync(message);
        return (await cluster.SiloService<IMessageStore>().GetAsync(id, messageId, Cancel))!;
    }

    private async Task<List<ChatMessage>> RepliesAsync(string id, string chatId, int atLeast)
    {
        var store = cluster.SiloService<IMessageStore>();
        var replies = await Eventually.UntilAsync(
            async () => (await store.GetMessagesAsync(id, chatId, 50, cancellationToken: Cancel)).Where(m => m.IsFromMe).Reverse().ToList(),
            r => r.Count >= atLeast,
            TimeSpan.FromSeconds(20),
            $"{atLeast} replies");
        await Task.Delay(200, Cancel); // a second reply would show up by now
        return (await store.GetMessagesAsync(id, chatId, 50, cancellationToken: Cancel)).Where(m => m.IsFromMe).Reverse().ToList();
    }

    private async Task<bool> InOutboxAsync(string id, string messageId)
        => (await cluster.SiloService<IMessageStore>().GetOutboxPageAsync(0, 500, Cancel)).Any(m => m.Message.InstanceId == id && m.Message.MessageId == messageId);

    private IChatAgentGrain Agent(string id, string chatId) => cluster.Client.GetGrain<IChatAgentGrain>(ChatKey.For(id, chatId));

    private IAsyncStream<ChatMessage> Stream(string ns, string id, string chatId)
        => cluster.SiloService<IClusterClient>().GetStreamProvider(MessageStreams.Provider).GetStream<ChatMessage>(StreamId.Create(ns, ChatKey.For(id, chatId)));
}
