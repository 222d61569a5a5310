using System.Globalization;

namespace Messengers.Bench;

/// <summary>
/// CPU time used so far by the bench's own database servers (read from /proc), so a run can say what a message costs
/// them besides the gateway's own CPU: the PostgreSQL postmaster listening on <see cref="PostgresPort"/> with all its
/// children (backends, WAL writer, …), and the redis-server of <see cref="RedisPid"/>. Other engineers' servers on
/// the same machine are not counted (before the move to Orleans every process named postgres or redis-server was).
/// </summary>
internal static class ServerCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>The port of the bench's PostgreSQL (0: none).</summary>
    public static int PostgresPort { get; set; }

    /// <summary>The process id of the bench's redis-server (0: none).</summary>
    public static int RedisPid { get; set; }

    public static (TimeSpan Postgres, TimeSpan Redis) Sample()
    {
        var processes = new List<(int Pid, int ParentPid, string Name, double Seconds)>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(folder, "stat"));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                continue; // the process ended meanwhile
            }

            // pid (comm) state ppid ... ; comm may hold spaces, so split after the closing parenthesis.
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open)
            {
                continue;
            }

            var name = stat[(open + 1)..close];
            if (name != "postgres" && name != "redis-server")
            {
                continue;
            }

            var fields = stat[(close + 2)..].Split(' ');
            var seconds = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            processes.Add((pid, int.Parse(fields[1], CultureInfo.InvariantCulture), name, seconds));
        }

        var postmaster = PostgresPort == 0 ? 0 : processes.FirstOrDefault(p => p.Name == "postgres" && ListensOn(p.Pid, PostgresPort)).Pid;
        var postgres = postmaster == 0 ? 0 : processes.Where(p => p.Pid == postmaster || p.ParentPid == postmaster).Sum(p => p.Seconds);
        var redis = processes.Where(p => p.Pid == RedisPid && RedisPid != 0).Sum(p => p.Seconds);
        return (TimeSpan.FromSeconds(postgres), TimeSpan.FromSeconds(redis));
    }

    /// <summary>Whether the process was started with <c>-p {port}</c> (the test fixture's postmaster is).</summary>
    private static bool ListensOn(int pid, int port)
    {
        try
        {
            var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var index = Array.IndexOf(arguments, "-p");
            return index >= 0 && index + 1 < arguments.Length && arguments[index + 1] == port.ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
