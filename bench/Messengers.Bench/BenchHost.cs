using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Messengers.Bench;

/// <summary>
/// Settings every in-process gateway of the benches gets besides its own: free loopback ports for the co-hosted
/// Orleans silo (other test runs on this machine use Orleans' default ports 11111/30000), the stream poll period when
/// BENCH_STREAM_POLL_MS is set (<c>Messengers:Streams:PollInterval</c>, default 5 ms), and BENCH_HOST_ARGS (extra
/// <c>--Key=Value</c> settings separated by spaces, for experiments without a rebuild).
/// </summary>
internal static class BenchHost
{
    public static string[] Settings()
    {
        List<string> settings =
        [
            "--Orleans:Endpoints:SiloPort=" + FreePort().ToString(CultureInfo.InvariantCulture),
            "--Orleans:Endpoints:GatewayPort=" + FreePort().ToString(CultureInfo.InvariantCulture),
        ];
        if (Environment.GetEnvironmentVariable("BENCH_STREAM_POLL_MS") is { Length: > 0 } poll)
        {
            settings.Add("--Messengers:Streams:PollInterval=" + TimeSpan.FromMilliseconds(double.Parse(poll, CultureInfo.InvariantCulture)).ToString("c", CultureInfo.InvariantCulture));
        }

        if (Environment.GetEnvironmentVariable("BENCH_HOST_ARGS") is { Length: > 0 } extra)
        {
            settings.AddRange(extra.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        return [.. settings];
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
