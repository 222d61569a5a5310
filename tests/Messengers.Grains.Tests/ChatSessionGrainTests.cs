using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Testing;

namespace Messengers.Grains.Tests;

[Collection(GrainsCollection.Name)]
public sealed class ChatSessionGrainTests(GrainsCluster cluster)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Receive_SameMessageTwice_StoredOnceSecondIsDuplicate()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1"));
        var message = new InboundMessage { MessageId = "m-dup", ChatId = "c1", From = "c1", Body = "once" };

        Assert.True(await chat.ReceiveAsync(message));
        Assert.False(await chat.ReceiveAsync(message));

        var stored = await cluster.SiloService<IMessageStore>().GetMessagesAsync(id, "c1", 10, cancellationToken: Cancel);
        Assert.Equal("m-dup", Assert.Single(stored).MessageId);
    }

    [Fact]
    public async Task Send_SameClientMessageIdAfterDeactivation_SentOnceSameResult()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        await Eventually.UntilAsync(cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c1"));
        var message = new OutgoingMessage { ChatId = "c1", Text = "hi there", ClientMessageId = "client-1" };

        var first = await chat.SendAsync(message);
        await cluster.Cluster.DeactivateAsync(chat); // the client ids are read back from the store
        var again = await chat.SendAsync(message);

        Assert.Equal(first.MessageId, again.MessageId);
        Assert.Single(cluster.Provider.SentBy(id));
        Assert.Equal(MessageAck.Sent, first.Ack);
    }

    [Fact]
    public async Task Recent_AfterMessagesBothWays_InOrderWithOwnMarked()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        await Eventually.UntilAsync(cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c2"));
        var now = DateTimeOffset.UtcNow;
        await chat.ReceiveAsync(new InboundMessage { MessageId = "r1", ChatId = "c2", Body = "question", Timestamp = now.AddSeconds(-2) });
        await chat.SendAsync(new OutgoingMessage { ChatId = "c2", Text = "answer" });

        await cluster.Cluster.DeactivateAsync(chat);
        var recent = await chat.GetRecentAsync(10);

        Assert.Equal(["question", "answer"], recent.Select(m => m.Body));
        Assert.Equal([false, true], recent.Select(m => m.IsFromMe));
    }

    [Fact]
    public async Task AgentPaused_SetThenDeactivated_Kept()
    {
        var id = await cluster.CreateInstanceAsync();
        var chat = cluster.Client.GetGrain<IChatSessionGrain>(ChatKey.For(id, "c3"));

        await chat.SetAgentPausedAsync(true);
        await cluster.Cluster.DeactivateAsync(chat);

        Assert.True(await chat.IsAgentPausedAsync());
    }
}
