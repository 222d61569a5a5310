namespace Messengers.Runtime.Storage;

/// <summary>A plain holder of state, etag and existence, passed to storage providers.</summary>
public sealed class GrainState<T>(T state) : IGrainState<T>
{
    public T State { get; set; } = state;

    public string? ETag { get; set; }

    public bool RecordExists { get; set; }
}
