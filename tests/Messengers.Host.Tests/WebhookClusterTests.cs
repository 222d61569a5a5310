using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// Webhooks in a cluster: two hosts on one PostgreSQL database and one Redis form one Orleans cluster (ADO.NET
/// clustering). The stream consumers that write webhook events (one grain per chat stream) are spread over both silos,
/// and an instance's subscriptions are kept by one grain in the cluster: a subscription created through one silo must
/// apply to the events of messages that arrive through the other at once, and to none from before it existed.
/// </summary>
public sealed class WebhookClusterTests(ProductionHostFixture fixture) : IClassFixture<ProductionHostFixture>, IAsyncDisposable
{
    private readonly List<MessengersFactory> _hosts = [];
    private LoopbackHttpServer? _receiver;

    [Fact]
    public async Task Subscription_CreatedThroughOneSilo_MessagesHandledByEitherSiloAllDelivered()
    {
        var hooks = new ConcurrentQueue<JsonElement>();
        _receiver = await LoopbackHttpServer.StartAsync(async context =>
        {
            hooks.Enqueue((await JsonDocument.ParseAsync(context.Request.Body)).RootElement.Clone());
            context.Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status204NoContent;
        });
        var settings = await fixture.NewBackendAsync();
        var hostA = StartHost(settings, "silo-a");
        var hostB = StartHost(settings, "silo-b");
        using var adminA = HostFixture.Client(hostA, HostFixture.AdminKey);
        using var adminB = HostFixture.Client(hostB, HostFixture.AdminKey);
        using var visitor = HostFixture.Client(hostA, null);
        var cluster = await hostA.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, Ct);
        Assert.Equal(2, cluster.Count); // one cluster, not two silos that merely share storage
        var created = await adminA.CreateWebChatAsync("cluster webhooks");
        await adminA.WaitForStatusAsync(created.Id, "Ready");

        // Webhook consumers on both silos handle messages of the instance while it has no subscription (and its
        // subscriptions grain remembers the empty list).
        var early = Enumerable.Range(0, 8).Select(i => $"early-{i}").ToArray();
        foreach (var chat in early)
        {
            await visitor.PostVisitorMessageAsync(created.Id, chat, "before the webhook");
        }

        await Eventually.UntilAsync(() => adminA.GetInstanceAsync(created.Id), info => info.Counters().In == 8, what: "the early messages stored");
        // The agent turns of the same stream entries are done: the streams delivered them. The webhook consumers take
        // the same entries within milliseconds; waiting longer only makes the test stricter.
        await AgentTurnsProbe.IdleAsync(hostA, created.Id, early);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);

        await (await adminB.PostAsync($"{Instances}/{created.Id}/webhooks", Json(new { url = _receiver.BaseUrl + "/hooks", events = new[] { "message.received" } }), Ct))
            .ExpectAsync(HttpStatusCode.Created);

        // The subscription is in force once the API answered: messages right after it, through the other silo, are
        // delivered (well inside the 5 s the subscriptions are cached for, so a stale list would fail the test).
        var sent = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var accepted = await visitor.PostVisitorMessageAsync(created.Id, $"late-{i}", "after the webhook");
            sent.Add(accepted.GetProperty("messageId").GetString()!);
        }

        var delivered = await Eventually.UntilAsync(
            () => Task.FromResult(hooks.Select(h => h.GetProperty("data").GetProperty("messageId").GetString()!).ToHashSet()),
            ids => sent.All(ids.Contains),
            timeout: TimeSpan.FromSeconds(30),
            what: "a message.received webhook for every message sent after the subscription");
        Assert.Equal(sent.Count, delivered.Count); // nothing from before the subscription existed
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    private MessengersFactory StartHost(Dictionary<string, string?> settings, string siloName)
    {
        var host = new MessengersFactory(new Dictionary<string, string?>(settings) { ["Orleans:Name"] = siloName });
        _hosts.Add(host);
        _ = host.Server;
        return host;
    }
}
