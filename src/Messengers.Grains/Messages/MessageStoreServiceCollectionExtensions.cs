using Messengers.Abstractions.Messages;
using Messengers.Runtime.Hosting;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messengers.Grains.Messages;

/// <summary>
/// Registers the message store (<see cref="IMessageStore"/>, with its <see cref="PublishedMarks"/>) and the media store (<see cref="IMediaStore"/>).
/// The service-collection overloads expect the database to be registered already (<c>AddPostgresDatabase</c> /
/// <c>AddSqliteDatabase</c> on the silo builder, or the grain storage registrations); the silo-builder overloads
/// register the database too. Its migrations (including 002_messages) run at silo start-up.
/// </summary>
public static class MessageStoreServiceCollectionExtensions
{
    /// <summary><see cref="IMessageStore"/> on the registered <see cref="PostgresDatabase"/>.</summary>
    public static IServiceCollection AddPostgresMessageStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IMessageStore>(sp => new PostgresMessageStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<PublishedMarks>();
        return services;
    }

    /// <summary><see cref="IMessageStore"/> on the registered <see cref="SqliteDatabase"/>.</summary>
    public static IServiceCollection AddSqliteMessageStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IMessageStore>(sp => new SqliteMessageStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<PublishedMarks>();
        return services;
    }

    /// <summary>Registers the silo's PostgreSQL database (unless already registered with the same connection string) and the message store on it.</summary>
    public static ISiloBuilder AddPostgresMessageStore(this ISiloBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddPostgresDatabase(connectionString);
        builder.Services.AddPostgresMessageStore();
        return builder;
    }

    /// <summary>Registers the silo's SQLite database (unless already registered with the same file) and the message store on it.</summary>
    public static ISiloBuilder AddSqliteMessageStore(this ISiloBuilder builder, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddSqliteDatabase(databasePath);
        builder.Services.AddSqliteMessageStore();
        return builder;
    }

    /// <summary><see cref="FileMediaStore"/> under <c>{dataPath}/media</c>, files up to <paramref name="maxFileSize"/> bytes.</summary>
    public static IServiceCollection AddFileMediaStore(this IServiceCollection services, string dataPath, long maxFileSize = FileMediaStore.DefaultMaxFileSize)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        services.TryAddSingleton<IMediaStore>(_ => new FileMediaStore(dataPath, maxFileSize));
        return services;
    }
}
