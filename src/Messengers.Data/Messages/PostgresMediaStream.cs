using System.Buffers;

namespace Messengers.Data.Messages;

/// <summary>
/// A stored file of <see cref="PostgresMediaStore"/>, read one chunk at a time: it holds one chunk and no connection,
/// so a slow reader (a visitor's download, an upload to a messenger) ties up no pooled connection. It can seek, which
/// lets ASP.NET answer range requests (video and audio players ask for them). The first chunk comes with the
/// metadata; later ones are read into one buffer rented for the stream's life, so a large file makes no garbage per chunk.
/// </summary>
internal sealed class PostgresMediaStream : SeekableMediaStream
{
    private readonly PostgresMediaStore _store;
    private readonly string _instanceId;
    private readonly string _mediaId;
    private readonly int _chunkSize;
    private byte[]? _chunk;
    private int _chunkLength;
    private byte[]? _rented;
    private int _chunkIndex;

    public PostgresMediaStream(PostgresMediaStore store, string instanceId, string mediaId, long length, int chunkSize, byte[]? firstChunk)
        : base(length)
    {
        _store = store;
        _instanceId = instanceId;
        _mediaId = mediaId;
        _chunkSize = chunkSize;
        _chunk = firstChunk;
        _chunkLength = firstChunk?.Length ?? 0;
        _chunkIndex = firstChunk is null ? -1 : 0;
    }

    protected override async ValueTask<int> ReadAtAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var index = checked((int)(position / _chunkSize));
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

        var offset = (int)(position - ((long)index * _chunkSize));
        var count = Math.Min(buffer.Length, _chunkLength - offset);
        _chunk.AsMemory(offset, count).CopyTo(buffer);
        return count;
    }

    protected override void Dispose(bool disposing)
    {
        if (!IsDisposed && _rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }

        _chunk = null;
        _rented = null;
        base.Dispose(disposing);
    }
}
