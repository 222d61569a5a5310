using System.Diagnostics;
using System.Globalization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Providers.WhatsAppWeb;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;

namespace Messengers.Bench;

/// <summary>
/// PSS of the WhatsApp Web browser process tree (one Chromium of the pool, a context per instance) with 1, 5 and 20
/// logged-in instances on the fake WhatsApp Web page, and the marginal memory per instance. Also the Playwright node
/// driver, which is shared by all browsers of the process.
/// </summary>
public sealed class WhatsAppWebMemoryBenchmark : IBenchmark
{
    private static readonly int[] Steps = [1, 5, 20];

    public string Name => "whatsapp-memory";

    public async Task RunAsync()
    {
        if (!File.Exists("/usr/bin/chromium"))
        {
            Console.WriteLine("skipped: /usr/bin/chromium is missing");
            return;
        }

        await using var fake = await FakeWhatsAppWebServer.StartAsync();
        var options = new WhatsAppWebOptions { Url = fake.Url, InjectWaJs = false, StartTimeout = TimeSpan.FromSeconds(60) };
        await using var pool = new BrowserPool(Options.Create(options), NullLogger<BrowserPool>.Instance);
        var provider = new WhatsAppWebProvider(pool, new MemorySessions(), new HeldLeases(), new Messengers.Data.Messages.FileMediaStore(Path.Combine(Path.GetTempPath(), "wa-bench-media")), Options.Create(options), TimeProvider.System, NullLoggerFactory.Instance);
        var connections = new List<WhatsAppWebConnection>();
        var results = new List<(int Instances, long BrowserKib, int Processes, long DriverKib)>();
        try
        {
            foreach (var target in Steps)
            {
                while (connections.Count < target)
                {
                    var id = "bench" + connections.Count.ToString(CultureInfo.InvariantCulture);
                    var connection = (WhatsAppWebConnection)provider.Connect(new ConnectionConfig(id, WhatsAppWebProvider.ProviderName, new Dictionary<string, string>(), new Dictionary<string, string>(), new AgentSettings()), new NoCallbacks());
                    connections.Add(connection);
                    await connection.StartAsync(CancellationToken.None);
                }

                foreach (var connection in connections.Where(c => !c.IsReady))
                {
                    var page = await BridgedAsync(connection);
                    await page.EvaluateAsync(FakeWhatsAppWebServer.Js.Authenticate, "5511" + Random.Shared.Next(10_000_000, 99_999_999).ToString(CultureInfo.InvariantCulture) + "@c.us");
                }

                var watch = Stopwatch.StartNew();
                while (connections.Any(c => !c.IsReady) && watch.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(50);
                }

                await Task.Delay(TimeSpan.FromSeconds(3)); // let the renderers settle
                var main = pool.BrowserProcessIds();
                var tree = main.SelectMany(BrowserProcesses.Tree).Distinct().ToList();
                var browserKib = tree.Sum(BrowserProcesses.PssKib);
                var driverKib = DriverProcesses().Sum(BrowserProcesses.PssKib);
                results.Add((target, browserKib, tree.Count, driverKib));
                Console.WriteLine($"{target,3} instances: browsers {main.Count}, browser tree {tree.Count} processes, PSS {browserKib / 1024.0:F0} MiB; node driver PSS {driverKib / 1024.0:F0} MiB");
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        var first = results[0];
        var last = results[^1];
        Console.WriteLine($"marginal per instance (1 → {last.Instances}): {(last.BrowserKib - first.BrowserKib) / 1024.0 / (last.Instances - first.Instances):F1} MiB PSS");
    }

    private static async Task<IPage> BridgedAsync(WhatsAppWebConnection connection)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (connection.Page is { } page)
            {
                try
                {
                    if (await page.EvaluateAsync<bool>("() => window.__messengersBridged === true"))
                    {
                        return page;
                    }
                }
                catch (PlaywrightException)
                {
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("page not bridged");
    }

    /// <summary>The Playwright driver (node) children of this process, with their descendants outside Chromium.</summary>
    private static IEnumerable<int> DriverProcesses()
    {
        var self = Environment.ProcessId;
        return BrowserProcesses.Tree(self).Where(pid => pid != self && IsNode(pid));

        static bool IsNode(int pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Contains("playwright", StringComparison.OrdinalIgnoreCase)
                    && !File.ReadAllText($"/proc/{pid}/cmdline").Contains("chromium", StringComparison.OrdinalIgnoreCase);
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    private sealed class NoCallbacks : IConnectionCallbacks
    {
        public Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null) => Task.CompletedTask;

        public Task OnQrAsync(QrCodeInfo? qr) => Task.CompletedTask;

        public Task OnMessageAsync(InboundMessage message) => Task.CompletedTask;

        public Task OnAckAsync(string messageId, MessageAck ack) => Task.CompletedTask;
    }

    /// <summary>One process, no other silo: every lease is ours (the leases' storage is not what is measured).</summary>
    private sealed class HeldLeases : IWhatsAppAccountLeases
    {
        public string SiloName => "bench";

        public Task<LeaseAttempt> TryAcquireAsync(string instanceId, TimeSpan duration, CancellationToken cancellationToken)
            => Task.FromResult(new LeaseAttempt(true, SiloName, TimeProvider.System.GetUtcNow() + duration));

        public Task ReleaseAsync(string instanceId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class MemorySessions : IWhatsAppSessionStore
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _states = new();

        public Task<string?> LoadAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult(_states.TryGetValue(instanceId, out var s) ? s : null);

        public Task SaveAsync(string instanceId, string storageStateJson, CancellationToken cancellationToken)
        {
            _states[instanceId] = storageStateJson;
            return Task.CompletedTask;
        }

        public Task ClearAsync(string instanceId, CancellationToken cancellationToken)
        {
            _states.TryRemove(instanceId, out _);
            return Task.CompletedTask;
        }
    }
}
