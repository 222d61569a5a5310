namespace Messengers.Runtime.Storage;

/// <summary>The state of a grain as a storage provider sees it.</summary>
public interface IGrainState<T>
{
    T State { get; set; }

    /// <summary>The version token of the stored record; null when none exists.</summary>
    string? ETag { get; set; }

    bool RecordExists { get; set; }
}

/// <summary>Persistent state injected into a grain, with Orleans' members.</summary>
public interface IPersistentState<TState> : IStorage<TState>
{
}

public interface IStorage<TState>
{
    TState State { get; set; }

    string? Etag { get; }

    bool RecordExists { get; }

    Task ReadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes the state; throws <see cref="InconsistentStateException"/> when the stored etag moved on.</summary>
    Task WriteStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the stored record and resets <see cref="State"/> to a new instance.</summary>
    Task ClearStateAsync(CancellationToken cancellationToken = default);
}

/// <summary>Marks a grain constructor parameter of type <see cref="IPersistentState{TState}"/>.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName, string? storageName = null) : Attribute
{
    public string StateName { get; } = stateName;

    /// <summary>The registered storage provider; null selects <see cref="StorageNames.Default"/>.</summary>
    public string? StorageName { get; } = storageName;
}

public static class StorageNames
{
    public const string Default = "Default";
}

/// <summary>A write or delete carried an etag that no longer matches the stored record.</summary>
public sealed class InconsistentStateException : Exception
{
    public InconsistentStateException() { }
    public InconsistentStateException(string message) : base(message) { }
    public InconsistentStateException(string message, Exception inner) : base(message, inner) { }

    public InconsistentStateException(string message, string? storedEtag, string? currentEtag)
        : base(message)
    {
        StoredEtag = storedEtag;
        CurrentEtag = currentEtag;
    }

    /// <summary>The etag in storage at the time of the failed operation, when known.</summary>
    public string? StoredEtag { get; }

    /// <summary>The etag the caller held.</summary>
    public string? CurrentEtag { get; }

    /// <summary>The one message every provider uses for an etag mismatch.</summary>
    public static InconsistentStateException Conflict(string stateName, GrainId grainId, string? storedEtag, string? currentEtag)
        => new($"State '{stateName}' of {grainId} was changed by someone else: stored etag '{storedEtag ?? "none"}', write carried '{currentEtag ?? "none"}'.", storedEtag, currentEtag);
}

/// <summary>The storage backend failed (unreachable, timed out). The operation may be retried.</summary>
public sealed class GrainStorageException : Exception
{
    public GrainStorageException() { }
    public GrainStorageException(string message) : base(message) { }
    public GrainStorageException(string message, Exception inner) : base(message, inner) { }
}
