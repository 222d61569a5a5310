namespace Messengers.Data.Migrations;

/// <summary>A database whose schema is brought up to date at silo start-up (see <see cref="StorageMigrationService"/>).</summary>
public interface IMigratedDatabase
{
    /// <summary>Where the database is, for messages: never a password.</summary>
    string Description { get; }

    /// <summary>Applies pending migrations once; later calls return the same completed task (a failed run is retried).</summary>
    Task EnsureMigratedAsync(CancellationToken cancellationToken = default);
}
