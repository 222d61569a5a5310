using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Testing;

namespace Messengers.Grains.Tests;

[Collection(GrainsCollection.Name)]
public sealed class ProviderClientGrainTests(GrainsCluster cluster)
{
    [Fact]
    public async Task Execute_DirectoryCommands_ResultsCrossTheBoundary()
    {
        var id = await ReadyInstanceAsync();
        var client = cluster.Client.GetGrain<IProviderClientGrain>(id);

        var chats = await client.ExecuteAsync(new ProviderCommands.GetChats(10));
        var group = await client.ExecuteAsync(new ProviderCommands.GetGroup("group-1"));

        Assert.Equal(["chat-1", "group-1"], chats.Select(c => c.ChatId));
        Assert.True(chats[1].IsGroup);
        Assert.Equal("Group", group!.Name);
        Assert.Equal(new GroupParticipant("p1", true, false), Assert.Single(group.Participants));
    }

    [Fact]
    public async Task Execute_MessengerRefusesNotFound_NotFoundFlagKeptAcrossTheBoundary()
    {
        var id = await ReadyInstanceAsync();

        var failure = await Assert.ThrowsAsync<MessengerRequestException>(() => cluster.Client.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.GetGroup("nope")));

        Assert.True(failure.NotFound);
        Assert.Contains("nope", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_CapabilityTheConnectionLacks_CapabilityNotSupported()
    {
        var id = await ReadyInstanceAsync();

        await Assert.ThrowsAsync<CapabilityNotSupportedException>(() => cluster.Client.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.React("chat-1", "m1", "👍")));
    }

    [Fact]
    public async Task Commands_InstanceNotRunning_InstanceNotReady()
    {
        var client = cluster.Client.GetGrain<IProviderClientGrain>("g-not-running");

        await Assert.ThrowsAsync<InstanceNotReadyException>(() => client.ExecuteAsync(new ProviderCommands.SetTyping("c", true)));
        await Assert.ThrowsAsync<InstanceNotReadyException>(() => client.SendAsync(new OutgoingMessage { ChatId = "c", Text = "hi" }));
        await Assert.ThrowsAsync<InstanceNotReadyException>(() => client.ReceiveAsync(new VisitorPost("v1", "hi")));
    }

    [Fact]
    public async Task Send_SameClientIdAgain_MessengerGetsItOnceAndBothCallersTheSameResult()
    {
        var id = await ReadyInstanceAsync();
        var client = cluster.Client.GetGrain<IProviderClientGrain>(id);

        // A chat grain that died after the send and before storing its row asks again with the same client id.
        var first = await client.SendAsync(new OutgoingMessage { ChatId = "chat-1", Text = "answer", ClientMessageId = "reply-m1" });
        var again = await client.SendAsync(new OutgoingMessage { ChatId = "chat-1", Text = "answer", ClientMessageId = "reply-m1" });
        var otherChat = await client.SendAsync(new OutgoingMessage { ChatId = "chat-2", Text = "answer", ClientMessageId = "reply-m1" });

        Assert.Equal(first, again);
        Assert.NotEqual(first.MessageId, otherChat.MessageId);
        var sent = cluster.Provider.SentBy(id);
        Assert.Equal(["chat-1", "chat-2"], sent.Select(m => m.ChatId));
    }

    [Fact]
    public async Task Receive_VisitorPost_StoredBeforeItReturnsAndCounted()
    {
        var id = await ReadyInstanceAsync();

        var result = await cluster.Client.GetGrain<IProviderClientGrain>(id).ReceiveAsync(new VisitorPost("visitor-1", "hello"));

        Assert.Equal(InboundOutcome.Accepted, result.Outcome);
        var stored = await cluster.SiloService<IMessageStore>().GetAsync(id, result.MessageId!, TestContext.Current.CancellationToken);
        Assert.Equal("hello", stored!.Body);
        Assert.Equal("visitor-1", stored.ChatId);
        await Eventually.UntilAsync(async () => (await cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync())!.Counters.MessagesIn == 1, what: "counted in");
    }

    private async Task<string> ReadyInstanceAsync()
    {
        var id = await cluster.CreateInstanceAsync(new AgentSettings { Backend = "scripted", Enabled = false });
        await Eventually.UntilAsync(cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");
        return id;
    }
}
