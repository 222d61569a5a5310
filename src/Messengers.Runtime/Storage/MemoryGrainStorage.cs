using System.Collections.Concurrent;
using Messengers.Runtime.Serialization;

namespace Messengers.Runtime.Storage;

/// <summary>
/// Grain storage in process memory. State is kept as JSON so that a grain never shares objects with the
/// store, exactly as with a database provider.
/// </summary>
public sealed class MemoryGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<(string StateName, GrainId GrainId), Entry> _records = new();
    private long _version;

    private sealed record Entry(byte[] Json, string Etag);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (_records.TryGetValue((stateName, grainId), out var entry))
        {
            grainState.State = GrainJson.Deserialize<T>(entry.Json);
            grainState.ETag = entry.Etag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = (stateName, grainId);
        var next = new Entry(GrainJson.SerializeToUtf8Bytes(grainState.State), NextEtag());
        if (grainState.ETag is null)
        {
            if (!_records.TryAdd(key, next))
            {
                throw InconsistentStateException.Conflict(stateName, grainId, _records.TryGetValue(key, out var existing) ? existing.Etag : null, null);
            }
        }
        else
        {
            if (!_records.TryGetValue(key, out var current) || current.Etag != grainState.ETag || !_records.TryUpdate(key, next, current))
            {
                throw InconsistentStateException.Conflict(stateName, grainId, _records.TryGetValue(key, out var stored) ? stored.Etag : null, grainState.ETag);
            }
        }

        grainState.ETag = next.Etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = (stateName, grainId);
        if (_records.TryGetValue(key, out var current))
        {
            if (current.Etag != grainState.ETag || !_records.TryRemove(new KeyValuePair<(string, GrainId), Entry>(key, current)))
            {
                throw InconsistentStateException.Conflict(stateName, grainId, current.Etag, grainState.ETag);
            }
        }
        else if (grainState.ETag is not null)
        {
            throw InconsistentStateException.Conflict(stateName, grainId, null, grainState.ETag);
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private string NextEtag() => Interlocked.Increment(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
