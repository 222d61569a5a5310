using System.Globalization;
using System.Text;

namespace Messengers.Runtime.Redis;

/// <summary>
/// Where and how to connect. Parsed from a StackExchange.Redis-style connection string:
/// <c>host[:port][,option=value]...</c>, for example
/// <c>127.0.0.1:6379,password=secret,user=app,ssl=true,defaultDatabase=2,connectTimeout=5000</c>.
/// <list type="table">
/// <item><term>user</term><description>ACL user name sent with AUTH (Redis 6+); needs <c>password</c>.</description></item>
/// <item><term>password</term><description>AUTH password.</description></item>
/// <item><term>ssl</term><description><c>true</c> to wrap the socket in TLS; <c>sslHost</c> overrides the name checked against the certificate.</description></item>
/// <item><term>defaultDatabase</term><description>Database selected after connecting (SELECT), default 0.</description></item>
/// <item><term>connectTimeout</term><description>Milliseconds for one connection attempt including AUTH/SELECT, default 5000.</description></item>
/// <item><term>syncTimeout / asyncTimeout / commandTimeout</term><description>Milliseconds a command waits for its reply, default 5000.</description></item>
/// <item><term>name</term><description>Client name (CLIENT SETNAME), shown by CLIENT LIST.</description></item>
/// <item><term>reconnectMaxDelay</term><description>Milliseconds between reconnection attempts at most (the delay doubles from 50 ms), default 2000.</description></item>
/// <item><term>abortConnect, allowAdmin, keepAlive, connectRetry</term><description>Accepted for compatibility and ignored.</description></item>
/// </list>
/// Only the first endpoint is used (no cluster or sentinel support). Keys are case-insensitive; an unknown key is an error.
/// </summary>
public sealed record RedisOptions
{
    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 6379;

    public string? User { get; init; }

    public string? Password { get; init; }

    public bool Ssl { get; init; }

    public string? SslHost { get; init; }

    public int DefaultDatabase { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public string? ClientName { get; init; }

    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(2);

    public static RedisOptions Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new RedisOptions();
        var endpointSeen = false;
        foreach (var raw in connectionString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                if (!endpointSeen)
                {
                    var (host, port) = ParseEndpoint(raw);
                    options = options with { Host = host, Port = port };
                    endpointSeen = true;
                }

                continue; // further endpoints: not supported, ignored
            }

            var key = raw[..eq].Trim();
            var value = raw[(eq + 1)..].Trim();
            options = key.ToUpperInvariant() switch
            {
                "USER" => options with { User = value },
                "PASSWORD" => options with { Password = value },
                "SSL" => options with { Ssl = ParseBool(key, value) },
                "SSLHOST" => options with { SslHost = value },
                "DEFAULTDATABASE" => options with { DefaultDatabase = ParseInt(key, value) },
                "CONNECTTIMEOUT" => options with { ConnectTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value)) },
                "SYNCTIMEOUT" or "ASYNCTIMEOUT" or "COMMANDTIMEOUT" => options with { CommandTimeout = TimeSpan.FromMilliseconds(ParseInt(key, value)) },
                "NAME" => options with { ClientName = value },
                "RECONNECTMAXDELAY" => options with { ReconnectMaxDelay = TimeSpan.FromMilliseconds(ParseInt(key, value)) },
                "ABORTCONNECT" or "ALLOWADMIN" or "KEEPALIVE" or "CONNECTRETRY" => options,
                _ => throw new FormatException($"Unknown Redis connection string option '{key}'."),
            };
        }

        if (!endpointSeen)
        {
            throw new FormatException("The Redis connection string names no endpoint (host:port).");
        }

        if (options.User is not null && options.Password is null)
        {
            throw new FormatException("The Redis connection string has 'user' without 'password'.");
        }

        return options;
    }

    /// <summary>The connection string form of these options, without the password.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host).Append(':').Append(Port.ToString(CultureInfo.InvariantCulture));
        if (User is not null)
        {
            text.Append(",user=").Append(User);
        }

        if (Password is not null)
        {
            text.Append(",password=*****");
        }

        if (Ssl)
        {
            text.Append(",ssl=true");
        }

        if (DefaultDatabase != 0)
        {
            text.Append(",defaultDatabase=").Append(DefaultDatabase.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    private static (string Host, int Port) ParseEndpoint(string text)
    {
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"Invalid Redis endpoint '{text}'.");
            }

            var host = text[1..close];
            var rest = text[(close + 1)..];
            return (host, rest.StartsWith(':') ? ParseInt("port", rest[1..]) : 6379);
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return (text, 6379);
        }

        if (text.IndexOf(':', StringComparison.Ordinal) != colon)
        {
            return (text, 6379); // a bare IPv6 address
        }

        return (text[..colon], ParseInt("port", text[(colon + 1)..]));
    }

    private static int ParseInt(string key, string value)
        => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new FormatException($"Redis connection string option '{key}' needs a non-negative integer, got '{value}'.");

    private static bool ParseBool(string key, string value)
        => bool.TryParse(value, out var b) ? b : throw new FormatException($"Redis connection string option '{key}' needs true or false, got '{value}'.");
}
