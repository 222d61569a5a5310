namespace Messengers.Data.Tests.Orleans.Grains;

/// <summary>The grain storage providers the test silos register.</summary>
public static class GrainStorageNames
{
    /// <summary>Clear keeps the row without payload (DeleteStateOnClear = false).</summary>
    public const string Default = "store";

    /// <summary>Clear deletes the row (DeleteStateOnClear = true, DeleteStorageKey).</summary>
    public const string DeleteOnClear = "store-delete";
}
