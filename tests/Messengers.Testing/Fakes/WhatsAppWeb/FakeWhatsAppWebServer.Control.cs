using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace Messengers.Testing.Fakes.WhatsAppWeb;

/// <summary>
/// Driving the fake page from the server side, for tests that cannot reach the page object (a whole host owns the
/// browser): once the provider's bridge is in (<c>window.__messengersBridged</c>), every loaded page registers and
/// long-polls <c>/api/control/next</c> for commands — a <c>window.fake</c> function to call, or a property to read — and
/// posts the result back. Commands go to the page registered last, the one a running instance shows.
/// </summary>
public sealed partial class FakeWhatsAppWebServer
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PollGrace = TimeSpan.FromSeconds(3);

    private readonly Lock _control = new();
    private readonly List<ControlledPage> _pages = [];
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _awaiting = new();
    private readonly CancellationTokenSource _closing = new();
    private long _commandSeq;
    private int _maxLivePages;

    /// <summary>Pages that registered (loaded and bridged) so far.</summary>
    public int RegisteredPages
    {
        get
        {
            lock (_control)
            {
                return _pages.Count;
            }
        }
    }

    /// <summary>Registered pages that are still open: polling now, or polled within a few seconds and not closed since.</summary>
    public int LivePages
    {
        get
        {
            lock (_control)
            {
                return _pages.Count(p => p.IsLive);
            }
        }
    }

    /// <summary>The most pages that were live at once (counted whenever a page registers).</summary>
    public int MaxLivePages => Volatile.Read(ref _maxLivePages);

    /// <summary>
    /// Waits until <paramref name="count"/> pages have registered in total. The default allows for a host that launches
    /// Chromium while other test assemblies keep a 2-core machine busy.
    /// </summary>
    public async Task WaitForPagesAsync(int count = 1, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        while (RegisteredPages < count)
        {
            if (watch.Elapsed > (timeout ?? TimeSpan.FromSeconds(90)))
            {
                throw new TimeoutException($"{count} bridged page(s) expected, {RegisteredPages} registered.");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>
    /// Calls <c>window.fake[function](argument)</c> in the live page registered last (or reads the property of that name)
    /// and returns the result; a function that throws fails with its error. When the page goes away before it answers
    /// (the command ended the session, say), the result is an undefined element.
    /// </summary>
    public async Task<JsonElement> RunAsync(string function, object? argument = null, TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        ControlledPage? page;
        while (true)
        {
            lock (_control)
            {
                page = _pages.LastOrDefault(p => p.IsLive);
            }

            if (page is not null)
            {
                break;
            }

            if (watch.Elapsed > limit)
            {
                throw new InvalidOperationException("No live fake WhatsApp Web page is registered.");
            }

            await Task.Delay(25);
        }

        var seq = Interlocked.Increment(ref _commandSeq);
        var result = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _awaiting[seq] = result;
        try
        {
            page.Commands.Writer.TryWrite(JsonSerializer.SerializeToUtf8Bytes(new { seq, fn = function, arg = argument }, JsonOptions));
            while (!result.Task.IsCompleted)
            {
                if (!page.IsLive)
                {
                    return default;
                }

                if (watch.Elapsed > limit)
                {
                    throw new TimeoutException($"The fake page did not answer fake.{function} in time.");
                }

                await Task.WhenAny(result.Task, Task.Delay(50));
            }

            var answer = await result.Task;
            return answer.GetProperty("ok").GetBoolean()
                ? answer.GetProperty("value").Clone()
                : throw new InvalidOperationException($"fake.{function} failed in the page: {answer.GetProperty("error").GetString()}");
        }
        finally
        {
            _awaiting.TryRemove(seq, out _);
        }
    }

    /// <summary>Emits <c>conn.auth_code_change</c> with a QR string.</summary>
    public Task EmitQrAsync(string code) => RunAsync("emitQr", code);

    /// <summary>The QR code (or the phone's pairing code) was accepted: authenticated, then main ready, as <paramref name="wid"/>.</summary>
    public Task AuthenticateAsync(string wid) => RunAsync("authenticate", wid);

    /// <summary>Delivers a message (see <see cref="Js.Receive"/> for its fields); returns its id.</summary>
    public async Task<string> ReceiveAsync(object message) => (await RunAsync("receive", message)).GetString()!;

    /// <summary>Someone reacts to a message (see <see cref="Js.React"/> for the fields); returns the reaction's id.</summary>
    public async Task<string> ReactAsync(object reaction) => (await RunAsync("react", reaction)).GetString()!;

    /// <summary>Logs out as if from the phone.</summary>
    public Task LogoutFromPhoneAsync(string reason = "phone") => RunAsync("logout", reason);

    /// <summary>The phone number the page was last asked for a pairing code for (null when none).</summary>
    public async Task<string?> PairingPhoneAsync() => (await RunAsync("pairingPhone")).GetString();

    private void CloseControl() => _closing.Cancel();

    private async Task HandleControlAsync(HttpContext context, string path)
    {
        switch (path)
        {
            case "/api/control/register" when HttpMethods.IsPost(context.Request.Method):
                ControlledPage registered;
                lock (_control)
                {
                    registered = new ControlledPage(_pages.Count + 1);
                    _pages.Add(registered);
                    var live = _pages.Count(p => p.IsLive);
                    if (live > _maxLivePages)
                    {
                        Volatile.Write(ref _maxLivePages, live);
                    }
                }

                await context.Response.WriteAsJsonAsync(new { page = registered.Id });
                return;
            case "/api/control/next":
                ControlledPage? page;
                lock (_control)
                {
                    page = int.TryParse(context.Request.Query["page"], out var id) && id >= 1 && id <= _pages.Count ? _pages[id - 1] : null;
                }

                if (page is null)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                await PollAsync(context, page);
                return;
            case "/api/control/result" when HttpMethods.IsPost(context.Request.Method):
                using (var document = await JsonDocument.ParseAsync(context.Request.Body))
                {
                    if (_awaiting.TryGetValue(document.RootElement.GetProperty("seq").GetInt64(), out var waiter))
                    {
                        waiter.TrySetResult(document.RootElement.Clone());
                    }
                }

                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
        }
    }

    /// <summary>Holds the request until a command arrives, the wait ends (204) or the page goes away (request aborted).</summary>
    private async Task PollAsync(HttpContext context, ControlledPage page)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _closing.Token);
        wait.CancelAfter(PollWait);
        Interlocked.Increment(ref page.Polls);
        try
        {
            var command = await page.Commands.Reader.ReadAsync(wait.Token);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(command, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                page.Closed = true;
            }
            else if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
            }
        }
        finally
        {
            Interlocked.Decrement(ref page.Polls);
            page.LastSeen = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Runs the commands of <see cref="RunAsync"/> in the page; added to the page after the stub.</summary>
    private const string ControlScript = """
        <script>
        (function () {
          const pause = ms => new Promise(resolve => setTimeout(resolve, ms));
          const serve = async page => {
            for (;;) {
              let command;
              try {
                const response = await fetch('/api/control/next?page=' + page);
                if (response.status === 404) return;
                if (response.status !== 200) continue;
                command = await response.json();
              } catch (e) { await pause(200); continue; }
              let result;
              try {
                const target = window.fake[command.fn];
                const value = typeof target === 'function' ? await target(command.arg) : target;
                result = { seq: command.seq, ok: true, value: value === undefined ? null : value };
              } catch (e) { result = { seq: command.seq, ok: false, error: String(e && e.message || e) }; }
              await fetch('/api/control/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) }).catch(() => { });
            }
          };
          (async () => {
            while (window.__messengersBridged !== true) await pause(25);
            const response = await fetch('/api/control/register', { method: 'POST' });
            serve((await response.json()).page);
          })();
        })();
        </script>
        """;

    private sealed class ControlledPage(int id)
    {
        public int Id { get; } = id;

        public Channel<byte[]> Commands { get; } = Channel.CreateUnbounded<byte[]>();

        public int Polls;

        public long LastSeen = Stopwatch.GetTimestamp();

        public volatile bool Closed;

        public bool IsLive => !Closed && (Volatile.Read(ref Polls) > 0 || Stopwatch.GetElapsedTime(Volatile.Read(ref LastSeen)) < PollGrace);
    }
}
