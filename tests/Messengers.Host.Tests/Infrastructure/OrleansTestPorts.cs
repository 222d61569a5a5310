using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// Fresh loopback ports for the Orleans silo of each host a test starts: two silos in one test process on Orleans'
/// default ports (11111, 30000) would collide. A port is never handed out twice in a test run.
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

    /// <summary>A loopback port nothing listens on now and that no earlier call returned.</summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
