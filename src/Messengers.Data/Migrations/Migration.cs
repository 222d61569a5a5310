using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Messengers.Data.Migrations;

/// <summary>One numbered schema change, read from <c>sql/&lt;dialect&gt;/NNN_name.sql</c>.</summary>
public sealed class Migration
{
    public Migration(int version, string name, string sql)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(sql);
        Version = version;
        Name = name;
        Sql = sql;
        Checksum = ComputeChecksum(sql);
    }

    public int Version { get; }

    public string Name { get; }

    public string Sql { get; }

    /// <summary>SHA-256 of the file text with line endings normalised to LF, lower-case hex.</summary>
    public string Checksum { get; }

    public static string ComputeChecksum(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var normalized = sql.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
    }

    /// <summary>The file name without extension, e.g. <c>001_grain_state</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Version:D3}_{Name}");
}

/// <summary>A row of <c>schema_migrations</c>.</summary>
public sealed record AppliedMigration(int Version, string Name, string Checksum);
