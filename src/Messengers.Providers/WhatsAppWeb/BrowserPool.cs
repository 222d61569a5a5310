using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>
/// The silo's Chromium processes: one by default (<see cref="WhatsAppWebOptions.InstancesPerBrowser"/> = 0), each
/// instance in its own browser context. A browser that disconnects (crash, killed) leaves the pool and completes its
/// <see cref="PooledBrowser.Gone"/> task so its instances restart; the next context launches a fresh browser.
/// Page starts pass through a semaphore, so a restart of many instances is staggered.
/// </summary>
public sealed class BrowserPool : IAsyncDisposable
{
    private readonly WhatsAppWebOptions _options;
    private readonly ILogger<BrowserPool> _logger;
    private readonly SemaphoreSlim _launchLock = new(1, 1);
    private readonly SemaphoreSlim _starts;
    private readonly List<PooledBrowser> _browsers = [];
    private readonly Uri _origin;
    private IPlaywright? _playwright;
    private long _blocked;
    private bool _disposed;

    public BrowserPool(IOptions<WhatsAppWebOptions> options, ILogger<BrowserPool> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        _starts = new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentStarts));
        _origin = new Uri(_options.Url);
    }

    /// <summary>A switch on every browser of this pool, so its processes can be found in /proc.</summary>
    public string Marker { get; } = "--messengers-browser-pool=" + Guid.NewGuid().ToString("N");

    /// <summary>Live browser processes.</summary>
    public int BrowserCount
    {
        get
        {
            lock (_browsers)
            {
                return _browsers.Count(b => b.IsAlive);
            }
        }
    }

    /// <summary>Requests refused because they left the WhatsApp Web origin and loopback.</summary>
    public long BlockedRequests => Interlocked.Read(ref _blocked);

    /// <summary>Waits for a start slot; dispose the result when the page is up.</summary>
    public async Task<IDisposable> EnterStartAsync(CancellationToken cancellationToken)
    {
        await _starts.WaitAsync(cancellationToken);
        return new StartSlot(_starts);
    }

    /// <summary>A new context for an instance, optionally restoring a saved storage state, with the request blocker installed.</summary>
    public async Task<BrowserLease> CreateContextAsync(string instanceId, string? storageState, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var browser = await ReserveBrowserAsync(cancellationToken);
        try
        {
            var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
            {
                StorageState = storageState,
                ServiceWorkers = ServiceWorkerPolicy.Block,
                UserAgent = null,
            });
            await context.RouteAsync("**/*", async route =>
            {
                if (IsAllowed(route.Request.Url))
                {
                    await route.ContinueAsync();
                }
                else
                {
                    Interlocked.Increment(ref _blocked);
                    _logger.LogWarning("Blocked a request of {InstanceId} to {Url}", instanceId, route.Request.Url);
                    await route.AbortAsync("blockedbyclient");
                }
            });
            return new BrowserLease(this, browser, context);
        }
        catch
        {
            Release(browser);
            throw;
        }
    }

    /// <summary>Whether a page may request <paramref name="url"/>: the WhatsApp Web origin, the allowed hosts, loopback, data and blob URLs.</summary>
    public bool IsAllowed(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        if (uri.Scheme is "data" or "blob" or "about")
        {
            return true;
        }

        if (uri.Scheme is not ("http" or "https" or "ws" or "wss"))
        {
            return false;
        }

        if (uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)))
        {
            return true;
        }

        if (string.Equals(uri.Host, _origin.Host, StringComparison.OrdinalIgnoreCase) && uri.Port == _origin.Port)
        {
            return true;
        }

        foreach (var allowed in _options.AllowedHosts)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal)
                ? uri.Host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)
                : string.Equals(uri.Host, allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The main process ids of this pool's browsers, found by <see cref="Marker"/> (Linux only).</summary>
    public IReadOnlyList<int> BrowserProcessIds() => BrowserProcesses.FindMainProcesses(Marker);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        PooledBrowser[] browsers;
        lock (_browsers)
        {
            browsers = [.. _browsers];
            _browsers.Clear();
        }

        foreach (var browser in browsers)
        {
            try
            {
                await browser.Browser.CloseAsync();
            }
            catch (PlaywrightException exception)
            {
                _logger.LogDebug(exception, "Closing a browser failed");
            }
        }

        _playwright?.Dispose();
        _launchLock.Dispose();
        _starts.Dispose();
    }

    internal void Release(PooledBrowser browser)
    {
        lock (_browsers)
        {
            browser.Contexts--;
        }
    }

    private async Task<PooledBrowser> ReserveBrowserAsync(CancellationToken cancellationToken)
    {
        await _launchLock.WaitAsync(cancellationToken);
        try
        {
            lock (_browsers)
            {
                var limit = _options.InstancesPerBrowser <= 0 ? int.MaxValue : _options.InstancesPerBrowser;
                var free = _browsers.FirstOrDefault(b => b.IsAlive && b.Browser.IsConnected && b.Contexts < limit);
                if (free is not null)
                {
                    free.Contexts++;
                    return free;
                }
            }

            _playwright ??= await Playwright.CreateAsync();
            var started = Stopwatch();
            string[] args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-blink-features=AutomationControlled", Marker, .. _options.ExtraBrowserArgs];
            var launched = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = _options.ExecutablePath,
                Headless = _options.Headless,
                Args = args,
            });
            var pooled = new PooledBrowser(launched) { Contexts = 1 };
            launched.Disconnected += (_, _) =>
            {
                lock (_browsers)
                {
                    _browsers.Remove(pooled);
                }

                if (!_disposed)
                {
                    _logger.LogWarning("A Chromium process of the WhatsApp Web pool disconnected; its instances restart");
                }

                pooled.MarkGone();
            };
            lock (_browsers)
            {
                _browsers.Add(pooled);
            }

            _logger.LogInformation("Launched Chromium {Version} for WhatsApp Web in {Elapsed} ms", launched.Version, started.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture));
            return pooled;
        }
        finally
        {
            _launchLock.Release();
        }
    }

    private static System.Diagnostics.Stopwatch Stopwatch() => System.Diagnostics.Stopwatch.StartNew();

    private sealed class StartSlot(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}

/// <summary>One Chromium process of the pool.</summary>
public sealed class PooledBrowser(IBrowser browser)
{
    private readonly TaskCompletionSource _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IBrowser Browser { get; } = browser;

    /// <summary>Completes when the browser disconnects (crashed, killed or closed).</summary>
    public Task Gone => _gone.Task;

    public bool IsAlive => !_gone.Task.IsCompleted;

    internal int Contexts { get; set; }

    internal void MarkGone() => _gone.TrySetResult();
}

/// <summary>An instance's browser context; disposing closes it and frees its place in the browser.</summary>
public sealed class BrowserLease : IAsyncDisposable
{
    private readonly BrowserPool _pool;
    private int _disposed;

    internal BrowserLease(BrowserPool pool, PooledBrowser browser, IBrowserContext context)
    {
        _pool = pool;
        Browser = browser;
        Context = context;
    }

    public PooledBrowser Browser { get; }

    public IBrowserContext Context { get; }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (Browser.IsAlive)
            {
                await Context.CloseAsync();
            }
        }
        catch (PlaywrightException)
        {
            // the browser went away meanwhile
        }
        finally
        {
            _pool.Release(Browser);
        }
    }
}

/// <summary>Finds browser processes and their memory in /proc (Linux).</summary>
public static class BrowserProcesses
{
    /// <summary>Processes whose command line holds <paramref name="marker"/> and that are not Chromium child processes (no --type=).</summary>
    public static IReadOnlyList<int> FindMainProcesses(string marker)
    {
        var found = new List<int>();
        if (!Directory.Exists("/proc"))
        {
            return found;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var args = ReadArgs(pid);
            if (args.Contains(marker) && !args.Any(a => a.StartsWith("--type=", StringComparison.Ordinal)))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary><paramref name="root"/> and all its descendants.</summary>
    public static IReadOnlyList<int> Tree(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (!parents.TryGetValue(ppid, out var children))
                {
                    parents[ppid] = children = [];
                }

                children.Add(pid);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            result.Add(pid);
            if (parents.TryGetValue(pid, out var children))
            {
                children.ForEach(queue.Enqueue);
            }
        }

        return result;
    }

    /// <summary>The proportional set size of a process in KiB (from smaps_rollup), 0 when it is gone.</summary>
    public static long PssKib(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    return long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    private static string[] ReadArgs(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
