using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace Messengers.Agents.RedisChannel;

/// <summary>
/// Reads an agent's Redis connection string into StackExchange.Redis <see cref="ConfigurationOptions"/>. The format is
/// StackExchange.Redis's own: <c>host:port[,user=…][,ssl=true][,sslHost=…][,defaultDatabase=N][,connectTimeout=ms]
/// [,syncTimeout=ms][,asyncTimeout=ms][,name=…]…</c>; keys are case-insensitive and an unknown key is an error. Two keys
/// of the project's former Redis client are still understood: <c>commandTimeout</c> (sets <c>syncTimeout</c> and
/// <c>asyncTimeout</c>) and <c>reconnectMaxDelay</c> (the longest wait between reconnection attempts, default 2000 ms).
/// The password comes from the endpoint's key and is set as is, so it may contain commas and equals signs.
/// <c>channelPrefix</c> is refused: it would rename the agent channels. The multiplexer never gives up connecting
/// (<see cref="ConfigurationOptions.AbortOnConnectFail"/> is always false).
/// </summary>
internal static class RedisChannelConnectionString
{
    /// <summary>The shortest wait between reconnection attempts (the former client's backoff started there too).</summary>
    public const int ReconnectMinDelayMilliseconds = 50;

    /// <summary>The longest wait between reconnection attempts unless <c>reconnectMaxDelay</c> says otherwise.</summary>
    public const int DefaultReconnectMaxDelayMilliseconds = 2000;

    private const string CommandTimeoutKey = "commandTimeout";
    private const string ReconnectMaxDelayKey = "reconnectMaxDelay";

    /// <summary>
    /// Parses <paramref name="connectionString"/> and sets <paramref name="password"/> when given. Throws
    /// <see cref="FormatException"/> for a string that cannot be used; its message never contains the password.
    /// </summary>
    public static ConfigurationOptions Parse(string connectionString, string? password)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        int? commandTimeout = null;
        var reconnectMaxDelay = DefaultReconnectMaxDelayMilliseconds;
        var standard = new List<string>();
        foreach (var part in connectionString.Split(','))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? part[..equals].Trim() : string.Empty;
            if (string.Equals(key, CommandTimeoutKey, StringComparison.OrdinalIgnoreCase))
            {
                commandTimeout = ParseMilliseconds(key, part[(equals + 1)..]);
            }
            else if (string.Equals(key, ReconnectMaxDelayKey, StringComparison.OrdinalIgnoreCase))
            {
                reconnectMaxDelay = Math.Max(ParseMilliseconds(key, part[(equals + 1)..]), ReconnectMinDelayMilliseconds);
            }
            else if (!string.IsNullOrWhiteSpace(part))
            {
                standard.Add(part);
            }
        }

        if (standard.Count == 0)
        {
            throw NoEndpoint();
        }

        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(string.Join(',', standard));
        }
        catch (ArgumentException exception)
        {
            throw new FormatException(Redact(exception.Message, password), exception);
        }

        if (options.EndPoints.Count == 0)
        {
            throw NoEndpoint();
        }

        if (!options.ChannelPrefix.IsNullOrEmpty)
        {
            throw new FormatException("The Redis connection string option 'channelPrefix' is not supported: the agent channels are always agent:{agentId}:input and agent:{agentId}:output.");
        }

        if (password is { Length: > 0 })
        {
            options.Password = password;
        }

        if (options.User is not null && string.IsNullOrEmpty(options.Password))
        {
            throw new FormatException("The Redis connection string has 'user' without a password; the password goes in the agent key (credential agentApiKey).");
        }

        if (commandTimeout is { } timeout)
        {
            options.SyncTimeout = timeout;
            options.AsyncTimeout = timeout;
        }

        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = new ExponentialRetry(ReconnectMinDelayMilliseconds, reconnectMaxDelay);
        return options;
    }

    /// <summary>The servers of <paramref name="options"/> as <c>host:port</c>, for logs and messages (no credentials).</summary>
    public static string Endpoints(ConfigurationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.Join(",", options.EndPoints.Select(endpoint => endpoint switch
        {
            DnsEndPoint dns => $"{dns.Host}:{dns.Port.ToString(CultureInfo.InvariantCulture)}",
            _ => endpoint.ToString() ?? string.Empty,
        }));
    }

    /// <summary>
    /// <paramref name="text"/> with every occurrence of <paramref name="password"/> masked: a last guard for texts that
    /// come from StackExchange.Redis (which does not put passwords in its messages).
    /// </summary>
    public static string Redact(string text, string? password)
        => string.IsNullOrEmpty(password) ? text : text.Replace(password, "*****", StringComparison.Ordinal);

    private static int ParseMilliseconds(string key, string value)
        => int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds > 0
            ? milliseconds
            : throw new FormatException($"The Redis connection string option '{key}' needs a positive number of milliseconds, got '{value.Trim()}'.");

    private static FormatException NoEndpoint() => new("The Redis connection string names no endpoint (host:port).");
}
