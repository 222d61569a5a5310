using Messengers.Abstractions.Messages;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messengers.Data.Messages;

/// <summary>
/// Registers the message store (<see cref="IMessageStore"/>, with its <see cref="PublishedMarks"/>) and the media store (<see cref="IMediaStore"/>).
/// They expect the database to be registered already (<see cref="DataServiceCollectionExtensions"/>); its migrations
/// (including 002_messages) run at start-up.
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

    /// <summary><see cref="FileMediaStore"/> under <c>{dataPath}/media</c>, files up to <paramref name="maxFileSize"/> bytes.</summary>
    public static IServiceCollection AddFileMediaStore(this IServiceCollection services, string dataPath, long maxFileSize = FileMediaStore.DefaultMaxFileSize)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        services.TryAddSingleton<IMediaStore>(_ => new FileMediaStore(dataPath, maxFileSize));
        return services;
    }

    /// <summary>
    /// <see cref="PostgresMediaStore"/> on the registered <see cref="PostgresDatabase"/> (migration 013_media), files up to
    /// <paramref name="maxFileSize"/> bytes: the media store silos sharing one database share.
    /// </summary>
    public static IServiceCollection AddPostgresMediaStore(this IServiceCollection services, long maxFileSize = FileMediaStore.DefaultMaxFileSize)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        services.TryAddSingleton<IMediaStore>(sp => new PostgresMediaStore(sp.GetRequiredService<PostgresDatabase>(), maxFileSize));
        return services;
    }

    /// <summary>
    /// <see cref="S3MediaStore"/> in the bucket of <paramref name="options"/>, files up to <paramref name="maxFileSize"/>
    /// bytes: the media store silos share whatever their database. The options are validated here, at start-up.
    /// </summary>
    public static IServiceCollection AddS3MediaStore(this IServiceCollection services, S3MediaStoreOptions options, long maxFileSize = FileMediaStore.DefaultMaxFileSize)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        options.Validate();
        services.TryAddSingleton<IMediaStore>(sp => new S3MediaStore(options, maxFileSize, sp.GetService<Microsoft.Extensions.Logging.ILogger<S3MediaStore>>()));
        return services;
    }
}
