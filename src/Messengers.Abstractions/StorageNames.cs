namespace Messengers.Abstractions;

/// <summary>The names of the Orleans storage providers every silo registers.</summary>
public static class StorageNames
{
    /// <summary>Grain state: SQLite in the data folder embedded, PostgreSQL in production.</summary>
    public const string Grains = "grains";

    /// <summary>Explicit stream subscriptions (Orleans' own name for it).</summary>
    public const string PubSub = "PubSubStore";
}
