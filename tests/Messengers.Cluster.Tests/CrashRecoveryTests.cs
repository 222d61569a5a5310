using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing;
using Messengers.Testing.Fakes.Agno;

namespace Messengers.Cluster.Tests;

/// <summary>
/// The promise of the agent turn: a turn in flight when the process dies is answered after the restart, exactly once.
/// A real host process is killed with SIGKILL while a slow agent is answering visitors, then started again on the
/// same data.
/// </summary>
public sealed class CrashRecoveryTests : HostProcessTests
{
    private const string AdminKey = "msa_crash_test_0123456789abcdefghijklmnopqrstuv";
    private const int Visitors = 40;

    [Theory]
    [InlineData("embedded")]
    [InlineData("production")]
    public async Task AgentTurns_HostKilledWhileTheAgentAnswers_EachAnsweredExactlyOnceAfterRestart(string configuration)
    {
        var agno = Keep(await FakeAgnoServer.StartAsync());
        agno.Faults.ReplyDelay = TimeSpan.FromSeconds(4);
        var settings = await SettingsAsync(configuration, AdminKey);

        var first = await StartHostAsync(settings);
        using var admin = Client(first, AdminKey);
        var created = await admin.PostAsJsonAsync(
            new Uri("api/v1/instances", UriKind.Relative),
            new { name = "crash", provider = "webchat", agent = new { backend = "agno", agentId = "support", baseUrl = agno.BaseUrl } },
            Cancel);
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetString()!;

        using var visitor = Client(first, key: null);
        for (var i = 0; i < Visitors; i++)
        {
            var posted = await visitor.PostAsJsonAsync(new Uri($"webchat/{id}/messages", UriKind.Relative), new { visitorId = $"visitor-{i}", text = $"question {i}" }, Cancel);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, posted.StatusCode);
        }

        // Every turn is at the agent, none answered yet: the process dies now.
        await Eventually.UntilAsync(() => Task.FromResult(agno.RequestCount >= Visitors), 30, "all turns at the agent");
        await first.KillAsync();
        var askedBeforeCrash = agno.RequestCount;

        var second = await StartHostAsync(settings);
        using var after = Client(second, AdminKey);

        for (var i = 0; i < Visitors; i++)
        {
            var chat = $"visitor-{i}";
            var replies = await Eventually.UntilAsync(() => BodiesAsync(after, id, chat, onlyOwn: true), r => r.Count >= 1, TimeSpan.FromSeconds(60), $"a reply to {chat}");
            Assert.Equal([$"agno:question {i}"], replies);
        }

        // Late duplicates would have arrived by now (the agent answers in 4 s).
        await Task.Delay(TimeSpan.FromSeconds(5), Cancel);
        for (var i = 0; i < Visitors; i++)
        {
            Assert.Single(await BodiesAsync(after, id, $"visitor-{i}", onlyOwn: true));
        }

        var deadLetters = await after.GetFromJsonAsync<JsonElement>(new Uri($"api/v1/instances/{id}/agent/dead-letters", UriKind.Relative), Cancel);
        Assert.Equal(0, deadLetters.GetProperty("items").GetArrayLength());
        Assert.True(agno.RequestCount >= askedBeforeCrash + Visitors, $"the turns were asked again after the restart ({agno.RequestCount} calls)");
    }
}
