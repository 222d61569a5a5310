using Messengers.Runtime.Hosting;
using Messengers.Runtime.Storage;
using Messengers.Runtime.Storage.Postgres;
using Messengers.Runtime.Storage.Sqlite;
using Messengers.Runtime.Tests.Contracts;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messengers.Runtime.Tests.Storage;

[Collection(PostgresCollection.Name)]
public sealed class DatabaseStorageHostingTests(PostgresServer server)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddPostgresGrainStorage_HostStarted_SchemaMigratedAndStorageResolvable()
    {
        var connectionString = await server.CreateDatabaseAsync("hosting");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSilo(silo => silo.AddPostgresGrainStorage(StorageNames.Default, connectionString).AddPostgresGrainStorage("second", connectionString));
        using var host = builder.Build();

        await host.StartAsync(Cancel);
        try
        {
            var database = host.Services.GetRequiredService<PostgresDatabase>();
            await using (var command = database.DataSource.CreateCommand("SELECT count(*) FROM schema_migrations"))
            {
                Assert.True((long)(await command.ExecuteScalarAsync(Cancel))! >= 1);
            }

            var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
            Assert.IsType<PostgresGrainStorage>(storage);
            await storage.WriteStateAsync("s", new GrainId("sample", "hosted"), new GrainState<SampleState>(new()), Cancel);
        }
        finally
        {
            await host.StopAsync(Cancel);
        }
    }

    [Fact]
    public async Task AddSqliteGrainStorage_HostStarted_DatabaseFileCreatedAndMigrated()
    {
        var folder = Directory.CreateTempSubdirectory("messengers-hosting-");
        try
        {
            var path = Path.Combine(folder.FullName, "data", "silo.db");
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Services.AddSilo(silo => silo.AddSqliteGrainStorage(StorageNames.Default, path));
            using (var host = builder.Build())
            {
                await host.StartAsync(Cancel);
                Assert.True(File.Exists(path));
                var database = host.Services.GetRequiredService<SqliteDatabase>();
                await using (var connection = database.OpenConnection())
                await using (var command = connection.CreateCommand())
                {
                    command.CommandText = "SELECT count(*) FROM schema_migrations";
                    Assert.True((long)(await command.ExecuteScalarAsync(Cancel))! >= 1);
                }

                var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);
                await storage.WriteStateAsync("s", new GrainId("sample", "hosted"), new GrainState<SampleState>(new()), Cancel);
                await host.StopAsync(Cancel);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void AddPostgresGrainStorage_TwoDifferentDatabases_ThrowsClearly()
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<InvalidOperationException>(() => services.AddSilo(silo => silo
            .AddPostgresGrainStorage("a", "Host=127.0.0.1;Database=one;Password=secret")
            .AddPostgresGrainStorage("b", "Host=127.0.0.1;Database=two;Password=secret")));
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }
}
