namespace Messengers.Data.Migrations;

/// <summary>The schema cannot be brought up to date: a migration failed, or an applied migration was edited.</summary>
public sealed class SchemaMigrationException : Exception
{
    public SchemaMigrationException() { }
    public SchemaMigrationException(string message) : base(message) { }
    public SchemaMigrationException(string message, Exception inner) : base(message, inner) { }
}
