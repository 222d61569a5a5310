using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Messengers.Testing;

namespace Messengers.Cluster.Tests;

/// <summary>
/// A rolling restart: each of three silos is stopped (SIGTERM) and started again, one at a time, while 20 web-chat
/// visitors write through every silo and read their replies from streams open on other silos. A visitor does what a
/// browser behind a load balancer does: a refused request goes to the next silo, a closed stream is opened again on
/// another one (fetching the chat's history, as the page does when it reconnects).
/// </summary>
public sealed class RollingRestartTests : ClusterProcessTests
{
    private const int Visitors = 20;

    [Fact]
    public async Task WebChat_SilosRestartedOneByOne_NothingLostNothingDoubledEveryReplyReachesItsVisitor()
    {
        var silos = await StartClusterAsync(3);
        using (var admin = Client(silos[0], AdminKey))
        {
            var (created, _) = await CreateInstanceAsync(admin, new { name = "rolling", provider = "webchat", agent = new { backend = "echo" }, webChat = new { messagesPerMinute = 600 }, start = true });
            _id = created;
            await WaitForStatusAsync(admin, _id, "Ready");
        }

        _silos = [.. silos];
        using var done = new CancellationTokenSource();
        var visitors = Enumerable.Range(0, Visitors).Select(v => Task.Run(() => VisitAsync(v, done.Token), CancellationToken.None)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(3), Cancel);

        for (var i = 0; i < silos.Count; i++)
        {
            var stopped = _silos[i];
            await stopped.StopAsync(TimeSpan.FromSeconds(40));
            _silos[i] = await RestartAsync(stopped);
            await WaitForSilosAsync(_silos[i], 3, TimeSpan.FromSeconds(90));
            await Task.Delay(TimeSpan.FromSeconds(2), Cancel);
        }

        await Task.Delay(TimeSpan.FromSeconds(3), Cancel);
        await done.CancelAsync();
        await Task.WhenAll(visitors);

        // The streams stay open until every reply has reached its visitor (one delayed by an agent retry comes late).
        try
        {
            await Eventually.UntilAsync(
                () => Task.FromResult(Enumerable.Range(0, Visitors).Count(v => _accepted[v].All(t => _seen[v].ContainsKey("Echo: " + t)))),
                complete => complete == Visitors,
                TimeSpan.FromSeconds(60),
                "every reply on its visitor's stream");
        }
        finally
        {
            await _reading.CancelAsync();
            await Task.WhenAll(_streams);
            _reading.Dispose();
        }

        using var check = Client(_silos[1], AdminKey);
        for (var v = 0; v < Visitors; v++)
        {
            var visitor = $"visitor-{v}";
            var accepted = _accepted[v].ToList();
            Assert.True(accepted.Count >= 10, $"{visitor} got only {accepted.Count} messages through");
            var dialog = await Eventually.UntilAsync(
                () => HistoryAsync(_silos[v % 3], visitor),
                h => accepted.All(t => h.Contains("Echo: " + t)),
                TimeSpan.FromSeconds(60),
                $"an answer to each of {visitor}'s messages");
            foreach (var text in accepted)
            {
                Assert.Single(dialog, t => t == text);
                Assert.Single(dialog, t => t == "Echo: " + text);
                Assert.Contains("Echo: " + text, _seen[v].Keys); // on a stream, or in the history fetched when it reopened
            }

            Assert.Equal(accepted.Count * 2, dialog.Count);
        }

        Assert.True(_streamed > 0, "replies reached visitors' streams");
    }

    private readonly ConcurrentQueue<string>[] _accepted = [.. Enumerable.Range(0, Visitors).Select(_ => new ConcurrentQueue<string>())];
    private readonly ConcurrentDictionary<string, byte>[] _seen = [.. Enumerable.Range(0, Visitors).Select(_ => new ConcurrentDictionary<string, byte>())];
    private readonly CancellationTokenSource _reading = new();
    private readonly ConcurrentBag<Task> _streams = [];
    private HostProcess[] _silos = [];
    private string _id = "";
    private int _streamed;

    private async Task VisitAsync(int v, CancellationToken done)
    {
        var visitor = $"visitor-{v}";
        _streams.Add(Task.Run(() => ReadStreamAsync(v, visitor, _reading.Token), CancellationToken.None));
        for (var n = 0; !done.IsCancellationRequested; n++)
        {
            var text = $"{visitor}-{n.ToString(CultureInfo.InvariantCulture)}";
            for (var attempt = 0; ; attempt++)
            {
                var silo = _silos[(v + n + attempt) % 3];
                try
                {
                    using var client = Client(silo, key: null);
                    var posted = await client.PostAsJsonAsync(new Uri($"webchat/{_id}/messages", UriKind.Relative), new { visitorId = visitor, text, clientMessageId = $"m{n.ToString(CultureInfo.InvariantCulture)}" }, CancellationToken.None);
                    if (posted.StatusCode == HttpStatusCode.Accepted)
                    {
                        _accepted[v].Enqueue(text);
                        break;
                    }

                    Assert.True(posted.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway, $"{visitor}'s post answered {(int)posted.StatusCode} by {silo.Name}: {await posted.Content.ReadAsStringAsync(CancellationToken.None)}\n{string.Join('\n', silo.Output.Split('\n').Where(l => !l.Contains("Discarding", StringComparison.Ordinal)).TakeLast(40))}");
                }
                catch (HttpRequestException)
                {
                    // that silo is stopping or starting: the next one takes it, as behind a load balancer
                }

                await Task.Delay(200, CancellationToken.None);
            }

            await Task.Delay(800, CancellationToken.None);
        }

    }

    /// <summary>Keeps a stream open on a silo other than the one the visitor writes to first; reopens it elsewhere when it closes.</summary>
    private async Task ReadStreamAsync(int v, string visitor, CancellationToken cancellationToken)
    {
        for (var attempt = 1; !cancellationToken.IsCancellationRequested; attempt++)
        {
            var silo = _silos[(v + attempt) % 3];
            try
            {
                using var client = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
                using var response = await client.GetAsync(new Uri($"webchat/{_id}/events?visitorId={visitor}", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                // Open now: whatever was answered while no stream was open is in the history.
                foreach (var text in await HistoryAsync(silo, visitor))
                {
                    _seen[v].TryAdd(text, 0);
                }

                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonDocument.Parse(line[6..]).RootElement is var data
                        && data.TryGetProperty("direction", out var direction) && direction.GetString() == "out")
                    {
                        _seen[v].TryAdd(data.GetProperty("text").GetString()!, 0);
                        Interlocked.Increment(ref _streamed);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
            {
                // the silo went away: open the stream on another one
            }

            await Task.Delay(200, CancellationToken.None);
        }
    }

    private async Task<List<string>> HistoryAsync(HostProcess silo, string visitor)
    {
        using var client = Client(silo, key: null);
        var history = await client.GetFromJsonAsync<JsonElement>(new Uri($"webchat/{_id}/history?visitorId={visitor}&limit=200", UriKind.Relative), Cancel);
        return [.. history.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("text").GetString()!)];
    }
}
