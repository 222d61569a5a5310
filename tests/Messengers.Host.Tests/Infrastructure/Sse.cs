using System.Text;

namespace Messengers.Host.Tests.Infrastructure;

public sealed record SseEvent(string Event, string Data);

/// <summary>Reads a text/event-stream response: <c>event:</c> and <c>data:</c> lines, an empty line ends an event, comments are skipped.</summary>
public sealed class SseReader : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public string? ContentType => _response.Content.Headers.ContentType?.MediaType;

    public static async Task<SseReader> OpenAsync(HttpClient client, string url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        return new SseReader(response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    /// <summary>The next event that matches, within <paramref name="timeout"/>; events before it are skipped.</summary>
    public async Task<SseEvent> NextAsync(Func<SseEvent, bool> match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(match);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var name = "message";
        var data = new StringBuilder();
        try
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync(limit.Token) ?? throw new EndOfStreamException("The event stream ended.");
                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        var found = new SseEvent(name, data.ToString());
                        if (match(found))
                        {
                            return found;
                        }
                    }

                    name = "message";
                    data.Clear();
                }
                else if (line.StartsWith(':'))
                {
                    continue;
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line["event:".Length..].TrimStart();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    if (data.Length > 0)
                    {
                        data.Append('\n');
                    }

                    data.Append(line["data:".Length..].TrimStart());
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No matching event arrived within {timeout}.");
        }
    }

    /// <summary>Reads events until <paramref name="done"/> holds for all read so far; returns them in order.</summary>
    public async Task<IReadOnlyList<SseEvent>> CollectUntilAsync(Func<IReadOnlyList<SseEvent>, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(done);
        var seen = new List<SseEvent>();
        var deadline = DateTime.UtcNow + timeout;
        while (!done(seen))
        {
            var left = deadline - DateTime.UtcNow;
            try
            {
                seen.Add(await NextAsync(_ => true, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), cancellationToken));
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Events so far: {string.Join(" | ", seen.Select(e => $"{e.Event}: {e.Data}"))}");
            }
        }

        return seen;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
