using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace Messengers.Bench;

/// <summary>
/// A minimal HTTP/1.1 client over one keep-alive socket, for load generation: requests are written as prepared bytes
/// and responses are read without building header collections or strings, the way wrk or bombardier drive a server.
/// It keeps the bench client's own CPU out of the gateway's figures on a machine where both share two cores. It knows
/// just what the gateway answers: Content-Length or chunked bodies, no 1xx, no trailers.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private readonly Socket _socket;
    private readonly string _host;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(Socket socket, string host)
    {
        _socket = socket;
        _host = host;
    }

    public static async Task<RawHttpConnection> ConnectAsync(Uri server, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server.Host, server.Port, cancellationToken);
        return new RawHttpConnection(socket, server.Authority);
    }

    /// <summary>Sends a JSON POST and reads the whole answer; returns its status code.</summary>
    public async Task<int> PostJsonAsync(string path, string json, CancellationToken cancellationToken = default)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: {_host}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        await _socket.SendAsync(new ArraySegment<byte>[] { head, body }, SocketFlags.None);
        var (status, contentLength, chunked) = await ReadHeadAsync(cancellationToken);
        if (chunked)
        {
            while (await ReadChunkAsync<object?>(static (_, _) => { }, null, cancellationToken))
            {
            }
        }
        else
        {
            await SkipAsync(contentLength, cancellationToken);
        }

        return status;
    }

    /// <summary>Sends a GET and hands every chunk of the (chunked) answer to <paramref name="onData"/> until the stream ends.</summary>
    public async Task<int> GetStreamAsync<TState>(string path, Action<ReadOnlyMemory<byte>, TState> onData, TState state, CancellationToken cancellationToken)
    {
        await _socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {_host}\r\nAccept: text/event-stream\r\n\r\n"), SocketFlags.None, cancellationToken);
        var (status, _, chunked) = await ReadHeadAsync(cancellationToken);
        if (status == 200 && chunked)
        {
            while (await ReadChunkAsync(onData, state, cancellationToken))
            {
            }
        }

        return status;
    }

    public void Dispose() => _socket.Dispose();

    private async Task<(int Status, int ContentLength, bool Chunked)> ReadHeadAsync(CancellationToken cancellationToken)
    {
        int headEnd;
        while ((headEnd = _buffer.AsSpan(_start, _end - _start).IndexOf(HeaderEnd)) < 0)
        {
            await FillAsync(cancellationToken);
        }

        var head = _buffer.AsSpan(_start, headEnd);
        if (!Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _))
        {
            throw new InvalidOperationException("Not an HTTP/1.1 status line.");
        }

        var contentLength = 0;
        var lengthAt = head.IndexOf("Content-Length: "u8);
        if (lengthAt >= 0 && !Utf8Parser.TryParse(head[(lengthAt + 16)..], out contentLength, out _))
        {
            throw new InvalidOperationException("A Content-Length that is not a number.");
        }

        var chunked = head.IndexOf("Transfer-Encoding: chunked"u8) >= 0;
        _start += headEnd + HeaderEnd.Length;
        return (status, contentLength, chunked);
    }

    /// <summary>Reads one chunk; false on the last (empty) chunk.</summary>
    private async Task<bool> ReadChunkAsync<TState>(Action<ReadOnlyMemory<byte>, TState> onData, TState state, CancellationToken cancellationToken)
    {
        int lineEnd;
        while ((lineEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0)
        {
            await FillAsync(cancellationToken);
        }

        if (!Utf8Parser.TryParse(_buffer.AsSpan(_start, lineEnd), out int size, out _, 'x'))
        {
            throw new InvalidOperationException("A chunk size that is not hexadecimal.");
        }

        _start += lineEnd + 2;
        while (_end - _start < size + 2)
        {
            await FillAsync(cancellationToken);
        }

        if (size > 0)
        {
            onData(_buffer.AsMemory(_start, size), state);
        }

        _start += size + 2;
        return size > 0;
    }

    private async Task SkipAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            await FillAsync(cancellationToken);
        }

        _start += count;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new InvalidOperationException("An HTTP message part does not fit the connection's buffer.");
        }

        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        if (read == 0)
        {
            throw new IOException("The server closed the connection.");
        }

        _end += read;
    }
}
