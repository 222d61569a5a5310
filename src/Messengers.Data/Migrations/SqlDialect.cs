namespace Messengers.Data.Migrations;

/// <summary>The database flavours that have a migration folder under <c>sql/</c>.</summary>
public enum SqlDialect
{
    /// <summary><c>sql/postgres</c></summary>
    Postgres,

    /// <summary><c>sql/sqlite</c></summary>
    Sqlite,
}
