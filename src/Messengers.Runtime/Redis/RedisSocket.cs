using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;

namespace Messengers.Runtime.Redis;

/// <summary>
/// One authenticated TCP (optionally TLS) connection: connects, runs the AUTH / SELECT / CLIENT SETNAME / CLIENT ID
/// handshake, then hands every reply to a callback in arrival order until the connection ends.
/// </summary>
internal sealed class RedisSocket : IAsyncDisposable
{
    private readonly Stream _stream;
    private int _disposed;

    private RedisSocket(Stream stream)
    {
        _stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024));
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>The server's id for this client (CLIENT ID), for CLIENT UNBLOCK / CLIENT KILL.</summary>
    public long ClientId { get; private set; }

    public static async Task<RedisSocket> ConnectAsync(RedisOptions options, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            await socket.ConnectAsync(options.Host, options.Port, timeout.Token);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Ssl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = options.SslHost ?? options.Host }, timeout.Token);
            }

            var connection = new RedisSocket(stream);
            await connection.HandshakeAsync(options, timeout.Token);
            return connection;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Close(socket, stream);
            throw new RedisConnectionException($"Could not connect to Redis at {options} within {options.ConnectTimeout.TotalMilliseconds:0} ms.");
        }
        catch (Exception exception) when (exception is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            Close(socket, stream);
            throw new RedisConnectionException($"Could not connect to Redis at {options}: {exception.Message}", exception);
        }
        catch
        {
            Close(socket, stream);
            throw;
        }
    }

    /// <summary>
    /// Calls <paramref name="onReply"/> for every reply until the connection ends, and <paramref name="onBatchEnd"/>
    /// after the replies of each read; returns why the connection ended.
    /// </summary>
    public async Task<Exception> RunReaderAsync(Action<RedisResult> onReply, Action? onBatchEnd = null)
    {
        try
        {
            while (true)
            {
                var read = await Input.ReadAsync();
                var buffer = read.Buffer;
                while (Resp.TryParse(ref buffer, out var reply))
                {
                    onReply(reply);
                }

                onBatchEnd?.Invoke();

                Input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return new RedisConnectionException("The Redis server closed the connection.");
                }
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return new RedisConnectionException($"The connection to Redis was lost: {exception.Message}", exception);
        }
        catch (Exception exception)
        {
            return exception;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stream.DisposeAsync(); // ends a pending read with an error, which ends the reader loop
        await Input.CompleteAsync();
        try
        {
            await Output.CompleteAsync();
        }
        catch (Exception exception) when (exception is ObjectDisposedException or IOException)
        {
            // Completing flushes what a racing writer buffered into the stream closed above; that data goes nowhere anyway.
        }
    }

    private async Task HandshakeAsync(RedisOptions options, CancellationToken cancellationToken)
    {
        var commands = new List<object[]>();
        if (options.Password is not null)
        {
            commands.Add(options.User is null ? ["AUTH", options.Password] : ["AUTH", options.User, options.Password]);
        }

        if (options.DefaultDatabase != 0)
        {
            commands.Add(["SELECT", options.DefaultDatabase]);
        }

        if (options.ClientName is not null)
        {
            commands.Add(["CLIENT", "SETNAME", options.ClientName]);
        }

        commands.Add(["CLIENT", "ID"]);
        foreach (var command in commands)
        {
            Resp.WriteCommand(Output, command);
        }

        await Output.FlushAsync(cancellationToken);
        var replies = new List<RedisResult>(commands.Count);
        while (replies.Count < commands.Count)
        {
            var read = await Input.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            while (replies.Count < commands.Count && Resp.TryParse(ref buffer, out var reply))
            {
                replies.Add(reply);
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            if (replies.Count < commands.Count && read.IsCompleted)
            {
                throw new RedisConnectionException("The Redis server closed the connection during the handshake.");
            }
        }

        foreach (var reply in replies)
        {
            if (reply.Type == RedisResultType.Error)
            {
                throw new RedisServerException(reply.AsString()!);
            }
        }

        ClientId = replies[^1].AsInt64();
    }

    private static void Close(Socket socket, Stream? stream)
    {
        if (stream is not null)
        {
            stream.Dispose();
        }
        else
        {
            socket.Dispose();
        }
    }
}
