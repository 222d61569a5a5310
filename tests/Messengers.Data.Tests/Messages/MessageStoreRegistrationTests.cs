using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;
using Messengers.Data.Postgres;
using Messengers.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Messengers.Data.Tests.Messages;

public sealed class MessageStoreRegistrationTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-msgreg-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task AddSqliteMessageStore_WithRegisteredDatabase_ResolvesSqliteStoreOnIt()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new SqliteDatabase(Path.Combine(_folder.FullName, "silo.db")));
        services.AddSqliteMessageStore();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IMessageStore>();
        Assert.IsType<SqliteMessageStore>(store);
        Assert.True(await store.TryInsertAsync(new ChatMessage { InstanceId = "i", MessageId = "m", ChatId = "c" }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void AddPostgresMessageStore_WithoutDatabase_FailsOnResolveNamingTheDatabase()
    {
        var services = new ServiceCollection();
        services.AddPostgresMessageStore();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IMessageStore>());
        Assert.Contains("PostgresDatabase", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddFileMediaStore_DataPath_ResolvesFileStoreUnderMediaFolder()
    {
        var services = new ServiceCollection();
        services.AddFileMediaStore(_folder.FullName, maxFileSize: 1234);
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<FileMediaStore>(provider.GetRequiredService<IMediaStore>());
        Assert.Equal(Path.Combine(_folder.FullName, "media"), store.RootPath);
        Assert.Equal(1234, store.MaxFileSize);
    }

    [Fact]
    public async Task AddPostgresMediaStore_WithRegisteredDatabase_ResolvesPostgresStoreWithLimit()
    {
        var services = new ServiceCollection();
        await using var database = new PostgresDatabase("Host=127.0.0.1;Database=unused"); // never connected: resolving opens nothing
        services.AddSingleton(database);
        services.AddPostgresMediaStore(maxFileSize: 1234);
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<PostgresMediaStore>(provider.GetRequiredService<IMediaStore>());
        Assert.Equal(1234, store.MaxFileSize);
        Assert.Equal(PostgresMediaStore.DefaultChunkSize, store.ChunkSize);
    }
}
