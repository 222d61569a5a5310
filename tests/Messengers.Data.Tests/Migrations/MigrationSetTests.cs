using Messengers.Data.Migrations;

namespace Messengers.Data.Tests.Migrations;

public sealed class MigrationSetTests
{
    [Theory]
    [InlineData(SqlDialect.Postgres)]
    [InlineData(SqlDialect.Sqlite)]
    public void For_EmbeddedFiles_StartsWithGrainStateInOrder(SqlDialect dialect)
    {
        var migrations = MigrationSet.For(dialect);
        Assert.Equal("001_grain_state", migrations[0].ToString());
        Assert.Contains("CREATE TABLE grain_state", migrations[0].Sql, StringComparison.Ordinal);
        Assert.Equal(migrations.OrderBy(m => m.Version).Select(m => m.Version), migrations.Select(m => m.Version));
    }

    [Fact]
    public void Parse_BadFileName_ThrowsWithFileName()
    {
        var error = Assert.Throws<SchemaMigrationException>(() => MigrationSet.Parse("grain-state.sql", "SELECT 1"));
        Assert.Contains("grain-state.sql", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Order_TwoFilesWithSameNumber_Throws()
    {
        var error = Assert.Throws<SchemaMigrationException>(() => MigrationSet.Order([MigrationSet.Parse("002_b.sql", ""), MigrationSet.Parse("002_a.sql", "")]));
        Assert.Contains("share version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Checksum_LineEndingsOnly_AreTheSame()
        => Assert.Equal(Migration.ComputeChecksum("CREATE TABLE a (x INT);\nSELECT 1;\n"), Migration.ComputeChecksum("CREATE TABLE a (x INT);\r\nSELECT 1;\r\n"));
}
