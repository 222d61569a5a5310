using System.Globalization;

namespace Messengers.Bench;

/// <summary>
/// CPU time used so far by the database servers on this machine (every process named <c>postgres</c> or
/// <c>redis-server</c>, read from /proc), so a run can say what a message costs them besides the gateway's own CPU.
/// The benches start their own throwaway servers; nothing else of these names should run meanwhile.
/// </summary>
internal static class ServerCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public static (TimeSpan Postgres, TimeSpan Redis) Sample()
    {
        double postgres = 0, redis = 0;
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(folder, "stat"));
            }
            catch (IOException)
            {
                continue; // the process ended meanwhile
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // pid (comm) state ppid ... ; comm may hold spaces, so split after the closing parenthesis.
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open)
            {
                continue;
            }

            var name = stat[(open + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            var seconds = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            if (name == "postgres")
            {
                postgres += seconds;
            }
            else if (name == "redis-server")
            {
                redis += seconds;
            }
        }

        return (TimeSpan.FromSeconds(postgres), TimeSpan.FromSeconds(redis));
    }
}
