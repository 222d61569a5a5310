namespace Messengers.Runtime.Redis;

/// <summary>Base of every failure of the Redis client.</summary>
public class RedisException : Exception
{
    public RedisException() { }
    public RedisException(string message) : base(message) { }
    public RedisException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The server answered with an error (<c>-ERR ...</c>, <c>-NOGROUP ...</c>, <c>-BUSYGROUP ...</c>).
/// <see cref="Prefix"/> is its first word, <see cref="ServerMessage"/> the whole text as sent.
/// </summary>
public sealed class RedisServerException : RedisException
{
    public RedisServerException() : this("ERR unknown error") { }

    public RedisServerException(string serverMessage) : base(serverMessage)
    {
        ServerMessage = serverMessage;
        var space = serverMessage.IndexOf(' ', StringComparison.Ordinal);
        Prefix = space < 0 ? serverMessage : serverMessage[..space];
    }

    public RedisServerException(string serverMessage, Exception inner) : base(serverMessage, inner)
    {
        ServerMessage = serverMessage;
        var space = serverMessage.IndexOf(' ', StringComparison.Ordinal);
        Prefix = space < 0 ? serverMessage : serverMessage[..space];
    }

    /// <summary>The error code: ERR, WRONGTYPE, NOGROUP, BUSYGROUP, NOSCRIPT, NOAUTH, ...</summary>
    public string Prefix { get; }

    public string ServerMessage { get; }

    public bool Is(string prefix) => string.Equals(Prefix, prefix, StringComparison.Ordinal);
}

/// <summary>The connection to the server failed or was lost; the command may or may not have run.</summary>
public sealed class RedisConnectionException : RedisException
{
    public RedisConnectionException() { }
    public RedisConnectionException(string message) : base(message) { }
    public RedisConnectionException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>No reply came within the command timeout; the command may still run on the server.</summary>
public sealed class RedisTimeoutException : RedisException
{
    public RedisTimeoutException() { }
    public RedisTimeoutException(string message) : base(message) { }
    public RedisTimeoutException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The server sent bytes that are not valid RESP.</summary>
public sealed class RedisProtocolException : RedisException
{
    public RedisProtocolException() { }
    public RedisProtocolException(string message) : base(message) { }
    public RedisProtocolException(string message, Exception inner) : base(message, inner) { }
}
