namespace Messengers.Providers.WhatsAppWeb;

/// <summary>Configuration section <c>Messengers:WhatsAppWeb</c>.</summary>
public sealed class WhatsAppWebOptions
{
    public const string Section = "Messengers:WhatsAppWeb";

    /// <summary>The WhatsApp Web page; tests point it at a fake page on loopback.</summary>
    public string Url { get; set; } = "https://web.whatsapp.com";

    /// <summary>Hosts a page may reach besides the origin of <see cref="Url"/> and loopback; "*.x" matches subdomains of x.</summary>
    public IList<string> AllowedHosts { get; set; } = ["*.whatsapp.net"];

    /// <summary>The wa-js bundle; relative paths are resolved against the app base directory.</summary>
    public string WaJsPath { get; set; } = Path.Combine("wa-js", "wppconnect-wa.js");

    /// <summary>Inject wa-js after the page loads. It is skipped anyway when the page already defines <c>window.WPP</c>.</summary>
    public bool InjectWaJs { get; set; } = true;

    /// <summary>False on a silo that should hold no WhatsApp Web connection (one without a browser, say).</summary>
    public bool Enabled { get; set; } = true;

    public string ExecutablePath { get; set; } = "/usr/bin/chromium";

    public bool Headless { get; set; } = true;

    /// <summary>Browser contexts (instances) one Chromium process hosts; 0 means unlimited, one browser per silo.</summary>
    public int InstancesPerBrowser { get; set; }

    /// <summary>Pages that may be starting at once, so a restart of many instances is staggered.</summary>
    public int MaxConcurrentStarts { get; set; } = 2;

    /// <summary>How long the first QR code is valid (WhatsApp Web: about 60 s).</summary>
    public TimeSpan FirstQrLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long each following QR code is valid (about 20 s).</summary>
    public TimeSpan QrLifetime { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>After this many unscanned codes the instance goes Failed "QR not scanned".</summary>
    public int MaxQrCodes { get; set; } = 5;

    /// <summary>How long the page may take to load and report readiness of wa-js.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>First pause before restarting after a crash; doubles up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan RestartDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxRestartDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Consecutive failed restarts after which the instance goes Failed; a Ready session resets the count.</summary>
    public int MaxRestarts { get; set; } = 10;

    /// <summary>How often a Ready session's storage state is saved again (it is saved on Ready and on stop as well).</summary>
    public TimeSpan SessionSaveInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a phone pairing code is waited for: while one is pending, an exhausted QR rotation does not fail the
    /// instance (the code flow outlives the QR codes).
    /// </summary>
    public TimeSpan PairingCodeLifetime { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// The account lease: a silo drives an instance only while it holds it, renewed every third of this. Another silo
    /// takes over at most this long after the holder died without releasing it.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Arguments added to Chromium's launch arguments.</summary>
    public IList<string> ExtraBrowserArgs { get; set; } = [];

    /// <summary>The resolved bundle path.</summary>
    public string ResolveWaJsPath() => Path.IsPathRooted(WaJsPath) ? WaJsPath : Path.Combine(AppContext.BaseDirectory, WaJsPath);
}
