using System.Buffers;

namespace Messengers.Data.Messages;

/// <summary>
/// A stored file of <see cref="PostgresMediaStore"/>, read one chunk at a time: it holds one chunk and no connection,
/// so a slow reader (a visitor's download, an upload to a messenger) ties up no pooled connection. It can seek, which
/// lets ASP.NET answer range requests (video and audio players ask for them). The first chunk comes with the
/// metadata; later ones are read into one buffer rented for the stream's life, so a large file makes no garbage per chunk.
/// </summary>
internal sealed class PostgresMediaStream : Stream
{
    private readonly PostgresMediaStore _store;
    private readonly string _instanceId;
    private readonly string _mediaId;
    private readonly int _chunkSize;
    private byte[]? _chunk;
    private int _chunkLength;
    private byte[]? _rented;
    private int _chunkIndex;
    private long _position;
    private bool _disposed;

    public PostgresMediaStream(PostgresMediaStore store, string instanceId, string mediaId, long length, int chunkSize, byte[]? firstChunk)
    {
        _store = store;
        _instanceId = instanceId;
        _mediaId = mediaId;
        Length = length;
        _chunkSize = chunkSize;
        _chunk = firstChunk;
        _chunkLength = firstChunk?.Length ?? 0;
        _chunkIndex = firstChunk is null ? -1 : 0;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => !_disposed;

    public override bool CanWrite => false;

    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty || _position >= Length)
        {
            return 0;
        }

        var index = checked((int)(_position / _chunkSize));
        if (_chunkIndex != index || _chunk is null)
        {
            _chunkIndex = -1;
            _rented ??= ArrayPool<byte>.Shared.Rent(_chunkSize);
            var length = await _store.ReadChunkAsync(_instanceId, _mediaId, index, _rented, cancellationToken);
            var expected = (int)Math.Min(_chunkSize, Length - ((long)index * _chunkSize));
            if (length != expected)
            {
                // The instance's media was deleted while this file was being read: fail loudly rather than end early.
                throw new IOException($"Media {_mediaId} of instance {_instanceId} is no longer stored; it was deleted while being read.");
            }

            _chunk = _rented;
            _chunkLength = length;
            _chunkIndex = index;
        }

        var offset = (int)(_position - ((long)index * _chunkSize));
        var count = Math.Min(buffer.Length, _chunkLength - offset);
        _chunk.AsMemory(offset, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Blocks on the asynchronous read: every consumer in this project reads asynchronously, and a synchronous caller
    /// (a sync CopyTo) would otherwise get nothing at all.
    /// </summary>
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, null),
        };
        if (target < 0)
        {
            throw new IOException("Cannot seek before the start of the media file.");
        }

        _position = target;
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && _rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }

        _disposed = true;
        _chunk = null;
        _rented = null;
        base.Dispose(disposing);
    }
}
