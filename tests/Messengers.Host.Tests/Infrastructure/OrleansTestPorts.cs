using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// Fresh loopback ports for the Orleans silo of each host a test starts: two silos in one test process on Orleans'
/// default ports (11111, 30000) would collide. A port is never handed out twice in a test run. Ports come from below
/// Linux's ephemeral range (32768 and up), each test process from its own block: a port taken from the ephemeral range
/// could be used meanwhile as the local port of some outgoing connection (another test assembly's database client,
/// say), and the silo then failed to start with "address already in use".
/// </summary>
public static class OrleansTestPorts
{
    public const string SiloPortKey = "Orleans:Endpoints:SiloPort";
    public const string GatewayPortKey = "Orleans:Endpoints:GatewayPort";

    private static readonly HashSet<int> Given = [];

    /// <summary>The settings with a silo and a gateway port of their own, unless the settings name them already.</summary>
    public static Dictionary<string, string?> With(IReadOnlyDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var own = new Dictionary<string, string?>(settings);
        if (!own.ContainsKey(SiloPortKey))
        {
            own[SiloPortKey] = Next().ToString(CultureInfo.InvariantCulture);
        }

        if (!own.ContainsKey(GatewayPortKey))
        {
            own[GatewayPortKey] = Next().ToString(CultureInfo.InvariantCulture);
        }

        return own;
    }

    private const int FirstPort = 20_000;
    private const int BlockSize = 1_000;
    private const int Blocks = 12; // 20000-31999, below the ephemeral range

    private static readonly int Block = FirstPort + (Environment.ProcessId % Blocks * BlockSize);
    private static int _offset = -1;

    /// <summary>A loopback port nothing listens on now and that no earlier call returned.</summary>
    public static int Next()
    {
        for (var tries = 0; tries < BlockSize * Blocks; tries++)
        {
            var offset = Interlocked.Increment(ref _offset);
            var port = FirstPort + (((Block - FirstPort) + offset) % (BlockSize * Blocks));
            lock (Given)
            {
                if (!Given.Add(port))
                {
                    continue;
                }
            }

            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port between {FirstPort} and {FirstPort + (BlockSize * Blocks) - 1}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
