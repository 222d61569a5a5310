using System.Net;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>Idempotent sends survive a restart: the message row keeps the client id (no grain-state map).</summary>
public abstract partial class HostApiTests
{
    [Fact]
    public async Task SendMessage_SameClientIdAfterRestart_AnsweredWithFirstMessageNotSentAgain()
    {
        var settings = await Fixture.NewBackendAsync();
        string id, key, firstId;
        await using (var first = new MessengersFactory(settings))
        {
            using var admin = HostFixture.Client(first, HostFixture.AdminKey);
            var created = await admin.CreateWebChatAsync("idempotent");
            (id, key) = (created.Id, created.ApiKey);
            await admin.WaitForStatusAsync(id, "Ready");
            using var owner = HostFixture.Client(first, key);
            var sent = await (await owner.PostAsync($"{Instances}/{id}/messages", Json(new { chatId = "once", text = "only once", clientMessageId = "order-42" }), Ct)).ExpectAsync(HttpStatusCode.Created);
            firstId = sent.GetProperty("id").GetString()!;
        }

        await using var second = new MessengersFactory(settings);
        using var admin2 = HostFixture.Client(second, HostFixture.AdminKey);
        await admin2.WaitForStatusAsync(id, "Ready");
        using var owner2 = HostFixture.Client(second, key);
        var again = await (await owner2.PostAsync($"{Instances}/{id}/messages", Json(new { chatId = "once", text = "only once", clientMessageId = "order-42" }), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(firstId, again.GetProperty("id").GetString());

        var other = await (await owner2.PostAsync($"{Instances}/{id}/messages", Json(new { chatId = "once", text = "another", clientMessageId = "order-43" }), Ct)).ExpectAsync(HttpStatusCode.Created);
        Assert.NotEqual(firstId, other.GetProperty("id").GetString());
        var messages = await (await owner2.GetAsync($"{Instances}/{id}/chats/once/messages", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["another", "only once"], messages.Items().Select(m => m.GetProperty("body").GetString()));
        // Counted once each: the repeated send is not a message. Counts reach the instance a moment later.
        await Eventually.UntilAsync(() => owner2.GetInstanceAsync(id), i => i.Counters() == (0, 2), what: "counters 0 in, 2 out");
        await Task.Delay(500, Ct);
        Assert.Equal((0, 2), (await owner2.GetInstanceAsync(id)).Counters());
    }
}
