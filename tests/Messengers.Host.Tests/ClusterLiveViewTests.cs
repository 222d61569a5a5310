using System.Net;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Providers.WebChat;
using Microsoft.Extensions.DependencyInjection;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// Two hosts forming one cluster act as one gateway: a visitor's stream on either sees its chat's events once, the
/// live status feed of either sees every instance, and rate limits count requests on both together.
/// </summary>
public sealed class ClusterLiveViewTests(TwoHostClusterFixture cluster) : IClassFixture<TwoHostClusterFixture>
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WebChat_StreamsOnBothHosts_EachSeesMessageAndReplyOnce()
    {
        using var admin = HostFixture.Client(cluster.HostA, HostFixture.AdminKey);
        var created = await admin.CreateWebChatAsync("cluster chat");
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitorA = HostFixture.Client(cluster.HostA, null);
        using var visitorB = HostFixture.Client(cluster.HostB, null);
        var visitorId = "visitor-" + Guid.NewGuid().ToString("N")[..8];

        // One tab on each host: whichever silo runs the chat's connection, one of the tabs is remote to it.
        using var streamB = await SseReader.OpenAsync(visitorB, $"/webchat/{created.Id}/events?visitorId={visitorId}", Ct);
        using var streamA = await SseReader.OpenAsync(visitorA, $"/webchat/{created.Id}/events?visitorId={visitorId}", Ct);
        var remote = cluster.HostA.Services.GetRequiredService<WebChatHub>().RemoteListenerCount(created.Id)
            + cluster.HostB.Services.GetRequiredService<WebChatHub>().RemoteListenerCount(created.Id);
        Assert.Equal(1, remote); // the publishing silo forwards to the other one, and only to it

        await visitorA.PostVisitorMessageAsync(created.Id, visitorId, "first");
        await visitorB.PostVisitorMessageAsync(created.Id, visitorId, "second");

        string[] expected = ["in: first", "out: Echo: first", "in: second", "out: Echo: second"];
        foreach (var stream in new[] { streamB, streamA })
        {
            var seen = await ReadMessagesAsync(stream, expected.Length);
            Assert.Equal(expected.Order(), seen.Order()); // each once (the two posts' replies may interleave)
            await Assert.ThrowsAsync<TimeoutException>(() => stream.NextAsync(e => e.Event == "message", TimeSpan.FromSeconds(1), Ct));
        }
    }

    [Fact]
    public async Task Events_StatusChangedThroughOneHost_SeenOnTheOther()
    {
        using var adminA = HostFixture.Client(cluster.HostA, HostFixture.AdminKey);
        using var adminB = HostFixture.Client(cluster.HostB, HostFixture.AdminKey);
        using var feedB = await SseReader.OpenAsync(adminB, "/api/v1/events", Ct);
        var created = await adminA.CreateWebChatAsync("status chat");
        await adminA.WaitForStatusAsync(created.Id, "Ready");
        await (await adminA.PostAsync($"{Instances}/{created.Id}/stop", null, Ct)).ExpectAsync(HttpStatusCode.OK);

        await feedB.NextAsync(e => e.Event == "instance.status" && e.Data.Contains(created.Id, StringComparison.Ordinal) && e.Data.Contains("\"Ready\"", StringComparison.Ordinal), EventTimeout, Ct);
        await feedB.NextAsync(e => e.Event == "instance.status" && e.Data.Contains(created.Id, StringComparison.Ordinal) && e.Data.Contains("\"Stopped\"", StringComparison.Ordinal), EventTimeout, Ct);
    }

    [Fact]
    public async Task VisitorPost_OverLimitSpreadOverTwoHosts_Returns429()
    {
        using var admin = HostFixture.Client(cluster.HostA, HostFixture.AdminKey);
        var created = await admin.CreateWebChatAsync("limited chat", webChat: new { messagesPerMinute = 2 });
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitorA = HostFixture.Client(cluster.HostA, null);
        using var visitorB = HostFixture.Client(cluster.HostB, null);

        await visitorA.PostVisitorMessageAsync(created.Id, "speedy", "one");
        await visitorB.PostVisitorMessageAsync(created.Id, "speedy", "two");
        var third = await visitorA.PostAsync($"/webchat/{created.Id}/messages", Json(new { visitorId = "speedy", text = "three" }), Ct);
        await third.ExpectProblemAsync(HttpStatusCode.TooManyRequests, "2 messages per minute");
        Assert.InRange(third.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var fourth = await visitorB.PostAsync($"/webchat/{created.Id}/messages", Json(new { visitorId = "speedy", text = "four" }), Ct);
        await fourth.ExpectProblemAsync(HttpStatusCode.TooManyRequests, "2 messages per minute");
    }

    [Fact]
    public async Task ApiKey_RequestsSpreadOverTwoHosts_LimitedAsOne()
    {
        using var admin = HostFixture.Client(cluster.HostA, HostFixture.AdminKey);
        var created = await admin.CreateWebChatAsync("keyed chat");
        using var ownerA = HostFixture.Client(cluster.HostA, created.ApiKey);
        using var ownerB = HostFixture.Client(cluster.HostB, created.ApiKey);

        // Ten at a time: the whole limit must be used within the minute's window even on a loaded machine.
        await Parallel.ForEachAsync(Enumerable.Range(0, TwoHostClusterFixture.RequestsPerMinute), new ParallelOptions { MaxDegreeOfParallelism = 10, CancellationToken = Ct }, async (i, _) =>
            await (await (i % 2 == 0 ? ownerA : ownerB).GetAsync($"{Instances}/{created.Id}", Ct)).ExpectAsync(HttpStatusCode.OK));

        foreach (var owner in new[] { ownerA, ownerB })
        {
            var limited = await owner.GetAsync($"{Instances}/{created.Id}", Ct);
            await limited.ExpectProblemAsync(HttpStatusCode.TooManyRequests, $"{TwoHostClusterFixture.RequestsPerMinute} requests per minute");
            Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>The next <paramref name="count"/> message events as "direction: text".</summary>
    private static async Task<List<string>> ReadMessagesAsync(SseReader stream, int count)
    {
        var seen = new List<string>();
        while (seen.Count < count)
        {
            var message = await stream.NextAsync(e => e.Event == "message", EventTimeout, Ct);
            var data = JsonDocument.Parse(message.Data).RootElement;
            seen.Add($"{data.GetProperty("direction").GetString()}: {data.GetProperty("text").GetString()}");
        }

        return seen;
    }
}
