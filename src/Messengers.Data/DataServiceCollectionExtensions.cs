using Messengers.Abstractions.Security;
using Messengers.Data.DeadLetters;
using Messengers.Data.Messages;
using Messengers.Data.Migrations;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Messengers.Data.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messengers.Data;

/// <summary>
/// Registers the database of a silo and every store on it: messages (with their outbox marks), webhooks and agent
/// dead letters. The migrations of <c>sql/</c> (Orleans' own tables among them) run once at start-up, under the
/// migrator's lock, before any hosted service starts.
/// </summary>
public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// PostgreSQL: one shared connection pool for the stores. Orleans' ADO.NET providers (Invariant "Npgsql") work on the
    /// same database, with their own connections or with this pool (<c>options.DataSource = PostgresDatabase.DataSource</c>).
    /// </summary>
    public static IServiceCollection AddPostgresData(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.TryAddSingleton(sp => new PostgresDatabase(connectionString, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton<IMigratedDatabase>(sp => sp.GetRequiredService<PostgresDatabase>());
        services.AddPostgresMessageStore();
        services.TryAddSingleton<IWebhookStore>(sp => new PostgresWebhookStore(sp.GetRequiredService<PostgresDatabase>(), sp.GetRequiredService<ISecretProtector>()));
        services.TryAddSingleton<IAgentDeadLetterStore>(sp => new PostgresAgentDeadLetterStore(sp.GetRequiredService<PostgresDatabase>()));
        return services.AddMigrations();
    }

    /// <summary>
    /// SQLite: one file, one writer for the stores; the embedded default. Orleans' grain storage (Invariant
    /// "System.Data.SQLite", connection string <c>Data Source=</c> the same path) keeps grain state in the same file.
    /// </summary>
    public static IServiceCollection AddSqliteData(this IServiceCollection services, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        var fullPath = Path.GetFullPath(databasePath);
        services.TryAddSingleton(sp => new SqliteDatabase(fullPath, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton<IMigratedDatabase>(sp => sp.GetRequiredService<SqliteDatabase>());
        services.AddSqliteMessageStore();
        services.TryAddSingleton<IWebhookStore>(sp => new SqliteWebhookStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<ISecretProtector>()));
        services.TryAddSingleton<IAgentDeadLetterStore>(sp => new SqliteAgentDeadLetterStore(sp.GetRequiredService<SqliteDatabase>()));
        return services.AddMigrations();
    }

    private static IServiceCollection AddMigrations(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StorageMigrationService>());
        return services;
    }
}
