namespace Messengers.Runtime.Storage;

/// <summary>
/// A grain storage provider, with the contract of Orleans' IGrainStorage: each record is keyed by
/// (state name, grain id) and carries an etag; a write or clear with a stale etag throws
/// <see cref="InconsistentStateException"/>; writing with a null etag creates the record and fails if one exists.
/// </summary>
public interface IGrainStorage
{
    Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default);

    Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default);

    Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default);
}
