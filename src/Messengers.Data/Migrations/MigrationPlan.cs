namespace Messengers.Data.Migrations;

/// <summary>Compares the migrations a build knows with the rows of <c>schema_migrations</c>.</summary>
internal static class MigrationPlan
{
    /// <summary>
    /// Returns the migrations still to apply, in order. Throws when an applied migration's checksum differs from the
    /// embedded file. Versions applied by a newer build (unknown here) are returned in <paramref name="unknown"/>.
    /// </summary>
    public static IReadOnlyList<Migration> Pending(SqlDialect dialect, IReadOnlyList<Migration> known, IReadOnlyCollection<AppliedMigration> applied, out IReadOnlyList<AppliedMigration> unknown)
    {
        var byVersion = applied.ToDictionary(a => a.Version);
        foreach (var migration in known)
        {
            if (byVersion.TryGetValue(migration.Version, out var row) && !string.Equals(row.Checksum, migration.Checksum, StringComparison.OrdinalIgnoreCase))
            {
                throw new SchemaMigrationException(
                    $"Migration {migration} of the {MigrationSet.FolderName(dialect)} schema was applied as '{row.Name}' with checksum {row.Checksum}, "
                    + $"but sql/{MigrationSet.FolderName(dialect)}/{migration}.sql now has checksum {migration.Checksum}. "
                    + "An applied migration must never change: restore the original file and put the change in a new numbered migration.");
            }
        }

        var knownVersions = known.Select(m => m.Version).ToHashSet();
        unknown = applied.Where(a => !knownVersions.Contains(a.Version)).OrderBy(a => a.Version).ToList();
        return known.Where(m => !byVersion.ContainsKey(m.Version)).ToList();
    }
}
