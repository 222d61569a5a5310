using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// Webhooks in a cluster: two hosts (silos) on one PostgreSQL database and one Redis, whose webhook writers share the
/// inbound stream's entries. Each silo caches an instance's subscription list; a change made through one silo must
/// reach the other's cache before the events it handles are written.
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
        var created = await adminA.CreateWebChatAsync("cluster webhooks");
        await adminA.WaitForStatusAsync(created.Id, "Ready");

        // Both silos' writers handle messages of the instance while it has no subscription (and remember that).
        for (var i = 0; i < 8; i++)
        {
            await visitor.PostVisitorMessageAsync(created.Id, $"early-{i}", "before the webhook");
        }

        await Eventually.UntilAsync(() => adminA.GetInstanceAsync(created.Id), info => info.Counters().In == 8, what: "the early messages stored");
        await Task.Delay(TimeSpan.FromSeconds(1), Ct); // the writers take entries within milliseconds; waiting longer only makes the test stricter

        await (await adminB.PostAsync($"{Instances}/{created.Id}/webhooks", Json(new { url = _receiver.BaseUrl + "/hooks", events = new[] { "message.received" } }), Ct))
            .ExpectAsync(HttpStatusCode.Created);

        // The change reaches silo A by a broadcast on a stream: within moments, not in the same instant. Two seconds
        // covers that on a loaded machine and stays well inside the 5 s cache time, so without the broadcast silo A
        // would still write the late messages' events from its old, empty list (and the test fails).
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
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
        var host = new MessengersFactory(new Dictionary<string, string?>(settings) { ["Messengers:Runtime:SiloName"] = siloName });
        _hosts.Add(host);
        _ = host.Server;
        return host;
    }
}
