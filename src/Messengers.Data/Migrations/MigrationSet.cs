using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Messengers.Data.Migrations;

/// <summary>
/// The ordered migrations of one dialect. The SQL files of the top-level <c>sql/</c> folder are embedded in
/// Messengers.Data with resource names <c>sql/&lt;dialect&gt;/NNN_name.sql</c>; every file of a dialect's folder
/// belongs to one sequence, so a later feature adds its tables as the next free number.
/// </summary>
public static partial class MigrationSet
{
    private static readonly Lazy<IReadOnlyList<Migration>> Postgres = new(() => LoadEmbedded(SqlDialect.Postgres));
    private static readonly Lazy<IReadOnlyList<Migration>> Sqlite = new(() => LoadEmbedded(SqlDialect.Sqlite));

    /// <summary>The embedded migrations of <paramref name="dialect"/>, ordered by version.</summary>
    public static IReadOnlyList<Migration> For(SqlDialect dialect) => dialect switch
    {
        SqlDialect.Postgres => Postgres.Value,
        SqlDialect.Sqlite => Sqlite.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(dialect), dialect, null),
    };

    public static string FolderName(SqlDialect dialect) => dialect switch
    {
        SqlDialect.Postgres => "postgres",
        SqlDialect.Sqlite => "sqlite",
        _ => throw new ArgumentOutOfRangeException(nameof(dialect), dialect, null),
    };

    /// <summary>Parses <c>NNN_name.sql</c>; throws <see cref="SchemaMigrationException"/> for any other file name.</summary>
    public static Migration Parse(string fileName, string sql)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
        {
            throw new SchemaMigrationException($"Migration file '{fileName}' is not named NNN_name.sql (a number, an underscore, lower-case letters, digits and underscores).");
        }

        return new Migration(int.Parse(match.Groups["version"].Value, NumberStyles.None, CultureInfo.InvariantCulture), match.Groups["name"].Value, sql);
    }

    /// <summary>Orders migrations by version and rejects two files with the same number.</summary>
    public static IReadOnlyList<Migration> Order(IEnumerable<Migration> migrations)
    {
        var ordered = migrations.OrderBy(m => m.Version).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Version == ordered[i - 1].Version)
            {
                throw new SchemaMigrationException($"Migrations {ordered[i - 1]} and {ordered[i]} share version {ordered[i].Version}; every file of a dialect folder needs its own number.");
            }
        }

        return ordered;
    }

    private static List<Migration> LoadEmbeddedList(Assembly assembly, string prefix)
    {
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var normalized = resource.Replace('\\', '/');
            if (!normalized.StartsWith(prefix, StringComparison.Ordinal) || !normalized.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new SchemaMigrationException($"Embedded migration '{resource}' cannot be opened.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(Parse(normalized[prefix.Length..], reader.ReadToEnd()));
        }

        return migrations;
    }

    private static IReadOnlyList<Migration> LoadEmbedded(SqlDialect dialect)
    {
        var migrations = LoadEmbeddedList(typeof(MigrationSet).Assembly, $"sql/{FolderName(dialect)}/");
        if (migrations.Count == 0)
        {
            throw new SchemaMigrationException($"No embedded migrations found for {FolderName(dialect)}; the sql/{FolderName(dialect)} files must be EmbeddedResource items of Messengers.Data.");
        }

        return Order(migrations);
    }

    [GeneratedRegex(@"^(?<version>[0-9]{3,9})_(?<name>[a-z0-9_]+)\.sql$", RegexOptions.CultureInvariant)]
    private static partial Regex FileNamePattern();
}
