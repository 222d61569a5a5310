using Messengers.Runtime.Storage;
using Messengers.Runtime.Storage.Migrations;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Hosting;

/// <summary>
/// PostgreSQL and SQLite grain storage, in the style of <see cref="SiloBuilderExtensions.AddMemoryGrainStorage"/>.
/// A silo has at most one database of each kind (<see cref="PostgresDatabase"/>, <see cref="SqliteDatabase"/>,
/// resolvable as singletons for later features); its migrations run at start-up, before the silo takes calls.
/// </summary>
public static class DatabaseStorageExtensions
{
    /// <summary>Registers the silo's <see cref="PostgresDatabase"/> (shared pool, migrations at start-up).</summary>
    public static ISiloBuilder AddPostgresDatabase(this ISiloBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (!Register(builder.Services, new DatabaseRegistration(typeof(PostgresDatabase), connectionString)))
        {
            return builder;
        }

        builder.Services.AddSingleton(sp => new PostgresDatabase(connectionString, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        builder.Services.AddSingleton<IMigratedDatabase>(sp => sp.GetRequiredService<PostgresDatabase>());
        AddMigrationService(builder.Services);
        return builder;
    }

    public static ISiloBuilder AddPostgresGrainStorage(this ISiloBuilder builder, string name, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(name);
        builder.AddPostgresDatabase(connectionString);
        builder.Services.AddKeyedSingleton<IGrainStorage>(name, (sp, _) => new PostgresGrainStorage(name, sp.GetRequiredService<PostgresDatabase>()));
        return builder;
    }

    /// <summary>Registers the silo's <see cref="SqliteDatabase"/> (one file, one writer, migrations at start-up).</summary>
    public static ISiloBuilder AddSqliteDatabase(this ISiloBuilder builder, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var fullPath = Path.GetFullPath(databasePath);
        if (!Register(builder.Services, new DatabaseRegistration(typeof(SqliteDatabase), fullPath)))
        {
            return builder;
        }

        builder.Services.AddSingleton(sp => new SqliteDatabase(fullPath, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        builder.Services.AddSingleton<IMigratedDatabase>(sp => sp.GetRequiredService<SqliteDatabase>());
        AddMigrationService(builder.Services);
        return builder;
    }

    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(name);
        builder.AddSqliteDatabase(databasePath);
        builder.Services.AddKeyedSingleton<IGrainStorage>(name, (sp, _) => new SqliteGrainStorage(name, sp.GetRequiredService<SqliteDatabase>()));
        return builder;
    }

    private static void AddMigrationService(IServiceCollection services)
        => services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StorageMigrationService>());

    /// <summary>False when the same database is already registered; throws when another one of the same kind is.</summary>
    private static bool Register(IServiceCollection services, DatabaseRegistration registration)
    {
        var existing = services
            .Where(d => d.ServiceType == typeof(DatabaseRegistration) && d.ImplementationInstance is DatabaseRegistration r && r.Kind == registration.Kind)
            .Select(d => (DatabaseRegistration)d.ImplementationInstance!)
            .FirstOrDefault();
        if (existing is null)
        {
            services.AddSingleton(registration);
            return true;
        }

        if (existing.Target == registration.Target)
        {
            return false;
        }

        throw new InvalidOperationException($"This silo already uses another {registration.Kind.Name}; all grain storage providers of a kind share one database.");
    }

    private sealed record DatabaseRegistration(Type Kind, string Target);
}
