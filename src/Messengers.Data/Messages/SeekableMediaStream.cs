namespace Messengers.Data.Messages;

/// <summary>
/// A stored media file read from a shared store (PostgreSQL chunks, S3 objects): read-only, of known length, and
/// seekable, so ASP.NET can answer the range requests of video and audio players. A derived stream reads from
/// <see cref="Position"/> in <see cref="ReadAtAsync"/>; this class keeps the position and the stream's plumbing.
/// </summary>
internal abstract class SeekableMediaStream(long length) : Stream
{
    private long _position;

    protected bool IsDisposed { get; private set; }

    public override bool CanRead => !IsDisposed;

    public override bool CanSeek => !IsDisposed;

    public override bool CanWrite => false;

    public override long Length { get; } = length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public sealed override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (buffer.IsEmpty || _position >= Length)
        {
            return 0;
        }

        var read = await ReadAtAsync(_position, buffer, cancellationToken);
        _position += read;
        return read;
    }

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Blocks on the asynchronous read: every consumer in this project reads asynchronously, and a synchronous caller
    /// (a sync CopyTo) would otherwise get nothing at all.
    /// </summary>
    public sealed override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public sealed override long Seek(long offset, SeekOrigin origin)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
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

    public sealed override void Flush()
    {
    }

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Reads at most <paramref name="buffer"/>'s length from <paramref name="position"/> (before the end); more than 0 bytes.</summary>
    protected abstract ValueTask<int> ReadAtAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken);

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }
}
