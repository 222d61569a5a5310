using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Grains.Tests.Infrastructure;
using Messengers.Testing;

namespace Messengers.Grains.Tests;

[Collection(GrainsCollection.Name)]
public sealed class InstanceGrainTests(GrainsCluster cluster)
{
    [Fact]
    public async Task Create_SameIdTwice_SecondFailsWithInstanceExistsAcrossTheBoundary()
    {
        var id = await cluster.CreateInstanceAsync();
        var definition = new InstanceDefinition { Name = "again", Provider = FakeMessengerProvider.ProviderName };

        var failure = await Assert.ThrowsAsync<InstanceExistsException>(() => cluster.Client.GetGrain<IInstanceGrain>(id).CreateAsync(definition, "hash"));

        Assert.Contains(id, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WithStart_ConnectionReportsReadyAndRegistryListsIt()
    {
        var id = await cluster.CreateInstanceAsync();
        var instance = cluster.Client.GetGrain<IInstanceGrain>(id);

        var info = await Eventually.UntilAsync(instance.GetAsync, i => i?.Status == InstanceStatus.Ready, what: "instance ready");

        Assert.Equal(DesiredState.Running, info!.DesiredState);
        Assert.Equal(new AccountInfo(id, "Fake"), info.Account);
        Assert.Contains(id, await cluster.Client.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).ListAsync());
        Assert.True(await cluster.Client.GetGrain<IProviderClientGrain>(id).IsConnectedAsync());
    }

    [Fact]
    public async Task Operations_UnknownInstance_FailWithInstanceNotFound()
    {
        var instance = cluster.Client.GetGrain<IInstanceGrain>("g-nobody-here");

        Assert.Null(await instance.GetAsync());
        await Assert.ThrowsAsync<InstanceNotFoundException>(instance.StartAsync);
        await Assert.ThrowsAsync<InstanceNotFoundException>(() => instance.UpdateAsync(new InstancePatch { Name = "x" }));
    }

    [Fact]
    public async Task State_AfterDeactivation_ConfigurationStatusAndCountersKept()
    {
        var id = await cluster.CreateInstanceAsync();
        var instance = cluster.Client.GetGrain<IInstanceGrain>(id);
        await instance.UpdateAsync(new InstancePatch { Name = "Renamed", Settings = new Dictionary<string, string> { ["k"] = "v" } });
        await instance.CountMessagesAsync(received: 1, sent: 0);
        await instance.CountMessagesAsync(received: 0, sent: 2);
        await Eventually.UntilAsync(async () => (await instance.GetAsync())!.Counters.MessagesOut == 2, what: "counted");

        await cluster.Cluster.DeactivateAsync(instance);
        var info = await instance.GetAsync();

        Assert.Equal("Renamed", info!.Name);
        Assert.Equal(new InstanceCounters(1, 2), info.Counters);
        Assert.Equal(DesiredState.Running, info.DesiredState);
    }

    [Fact]
    public async Task AgentConfig_WithProviderAndAgentCredentials_CarriesOnlyTheAgentKey()
    {
        var id = await cluster.CreateInstanceAsync(credentials: new Dictionary<string, string> { ["botToken"] = "123:provider-secret", [AgentConfig.ApiKeyCredential] = "agent-secret" });

        var config = await cluster.Client.GetGrain<IInstanceGrain>(id).GetAgentConfigAsync();
        var info = await cluster.Client.GetGrain<IInstanceGrain>(id).GetAsync();

        Assert.Equal("agent-secret", config.AgentApiKey);
        Assert.DoesNotContain("provider-secret", config.ToString(), StringComparison.Ordinal);
        Assert.Equal(["agentApiKey", "botToken"], info!.CredentialNames);
        Assert.Equal("123:provider-secret", cluster.Provider.Credentials[id]["botToken"]);
    }

    [Fact]
    public async Task Stop_ThenResume_ConnectionClosedAndNotReopened()
    {
        var id = await cluster.CreateInstanceAsync();
        var instance = cluster.Client.GetGrain<IInstanceGrain>(id);
        await Eventually.UntilAsync(instance.GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");

        var stopped = await instance.StopAsync();
        await instance.ResumeAsync();

        Assert.Equal(InstanceStatus.Stopped, stopped.Status);
        Assert.False(await cluster.Client.GetGrain<IProviderClientGrain>(id).IsConnectedAsync());
        Assert.Equal(1, cluster.Provider.Connects[id]);
    }

    [Fact]
    public async Task Resume_RunningInstanceWhoseConnectionWasLost_Reconnects()
    {
        var id = await cluster.CreateInstanceAsync();
        var instance = cluster.Client.GetGrain<IInstanceGrain>(id);
        var client = cluster.Client.GetGrain<IProviderClientGrain>(id);
        await Eventually.UntilAsync(instance.GetAsync, i => i?.Status == InstanceStatus.Ready, what: "ready");

        // The activation holding the connection goes away (as with its silo); the reminder's tick (or the start-up
        // resume) finds the instance should run and is not connected.
        await cluster.Cluster.DeactivateAsync(client);
        Assert.False(await client.IsConnectedAsync());
        await instance.ResumeAsync();

        Assert.True(await client.IsConnectedAsync());
        Assert.Equal(2, cluster.Provider.Connects[id]);
        await instance.ResumeAsync(); // connected: nothing to do
        Assert.Equal(2, cluster.Provider.Connects[id]);
    }

    [Fact]
    public async Task Delete_Instance_StateClearedAndLeavesRegistry()
    {
        var id = await cluster.CreateInstanceAsync();
        var instance = cluster.Client.GetGrain<IInstanceGrain>(id);

        await instance.DeleteAsync();

        Assert.Null(await instance.GetAsync());
        Assert.DoesNotContain(id, await cluster.Client.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).ListAsync());
        Assert.False(await cluster.Client.GetGrain<IProviderClientGrain>(id).IsConnectedAsync());
    }

    [Fact]
    public async Task VerifyApiKey_AfterRotation_OnlyTheNewHashPasses()
    {
        var id = await cluster.CreateInstanceAsync();
        var instance = cluster.Client.GetGrain<IInstanceGrain>(id);
        var first = Abstractions.Security.ApiKeys.Hash("msk_" + id + "_key");

        await instance.RotateApiKeyAsync("new-hash");

        Assert.False(await instance.VerifyApiKeyAsync(first));
        Assert.True(await instance.VerifyApiKeyAsync("new-hash"));
    }

    [Fact]
    public async Task PairingCode_ProviderWithoutQrPairing_CapabilityNotSupportedAcrossTheBoundary()
    {
        var id = await cluster.CreateInstanceAsync();

        var failure = await Assert.ThrowsAsync<CapabilityNotSupportedException>(() => cluster.Client.GetGrain<IInstanceGrain>(id).RequestPairingCodeAsync("5511999999999"));

        Assert.Contains("fake", failure.Message, StringComparison.Ordinal);
    }
}
