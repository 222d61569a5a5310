using Amazon.S3.Model;

namespace Messengers.Data.Messages;

/// <summary>
/// A stored file of <see cref="S3MediaStore"/>: reads the GET response it was opened with, and after a seek asks for the
/// rest of the object from the new position (a ranged GET), so ASP.NET can answer the range requests of video and
/// audio players without downloading what they skip.
/// </summary>
internal sealed class S3MediaStream : Stream
{
    private readonly S3MediaStore _store;
    private readonly string _key;
    private GetObjectResponse? _response;
    private long _responsePosition;
    private long _position;
    private bool _disposed;

    public S3MediaStream(S3MediaStore store, string key, long length, GetObjectResponse response)
    {
        _store = store;
        _key = key;
        Length = length;
        _response = response;
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

        if (_response is null || _responsePosition != _position)
        {
            _response?.Dispose();
            _response = await _store.GetAsync(_key, _position, cancellationToken)
                ?? throw new IOException($"Media object {_key} is no longer stored; it was deleted while being read.");
            _responsePosition = _position;
        }

        var read = await _response.ResponseStream.ReadAsync(buffer, cancellationToken);
        if (read == 0)
        {
            throw new IOException($"Media object {_key} ended after {_position} of {Length} bytes.");
        }

        _position += read;
        _responsePosition = _position;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Blocks on the asynchronous read: every consumer here reads asynchronously; this is for a rare sync CopyTo.</summary>
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
        if (disposing && !_disposed)
        {
            _disposed = true;
            _response?.Dispose();
            _response = null;
        }

        base.Dispose(disposing);
    }
}
