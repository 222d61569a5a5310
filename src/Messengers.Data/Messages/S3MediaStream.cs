using Amazon.S3.Model;

namespace Messengers.Data.Messages;

/// <summary>
/// A stored file of <see cref="S3MediaStore"/>: reads the GET response it was opened with, and after a seek asks for the
/// rest of the object from the new position (a ranged GET), so ASP.NET can answer the range requests of video and
/// audio players without downloading what they skip.
/// </summary>
internal sealed class S3MediaStream(S3MediaStore store, string key, long length, GetObjectResponse response) : SeekableMediaStream(length)
{
    private GetObjectResponse? _response = response;
    private long _responsePosition;

    protected override async ValueTask<int> ReadAtAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_response is null || _responsePosition != position)
        {
            _response?.Dispose();
            _response = await store.GetAsync(key, position, cancellationToken)
                ?? throw new IOException($"Media object {key} is no longer stored; it was deleted while being read.");
            _responsePosition = position;
        }

        var read = await _response.ResponseStream.ReadAsync(buffer, cancellationToken);
        if (read == 0)
        {
            throw new IOException($"Media object {key} ended after {position} of {Length} bytes.");
        }

        _responsePosition = position + read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !IsDisposed)
        {
            _response?.Dispose();
            _response = null;
        }

        base.Dispose(disposing);
    }
}
