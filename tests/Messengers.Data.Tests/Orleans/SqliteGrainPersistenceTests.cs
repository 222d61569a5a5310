using Messengers.Abstractions.Messages;
using Messengers.Data.Sqlite;
using Messengers.Data.Tests.Orleans.Grains;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Orleans' ADO.NET grain storage with Invariant "System.Data.SQLite" (served by Microsoft.Data.Sqlite) on the silo's
/// SQLite file, migrated by our migrator at host start (AddSqliteData): the embedded configuration.
/// </summary>
public sealed class SqliteGrainPersistenceTests : GrainPersistenceContract
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-orleans-sqlite-");

    private string DatabasePath => Path.Combine(_folder.FullName, "silo.db");

    public override ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }

    protected override void AddDatabase(IServiceCollection services) => services.AddSqliteData(DatabasePath);

    protected override void ConfigureStorage(OptionsBuilder<AdoNetGrainStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Configure(o =>
        {
            o.Invariant = "System.Data.SQLite";
            o.DataSource = new SqliteGrainStorageDataSource(DatabasePath);
        });
    }

    [Fact]
    public async Task WriteState_WhileMessageStoreWritesToTheSameFile_AllWritesSucceed()
    {
        // Orleans writes grain state through connections of its own, beside the single writer of SqliteDatabase that
        // the stores use: the two take turns on the file's write lock (busy timeouts) instead of failing.
        await using var silo = await StartSiloAsync();
        var messages = silo.Services.GetRequiredService<IMessageStore>();
        var counters = Enumerable.Range(0, 20).Select(i => silo.Grains.GetGrain<ICounterGrain>(NewKey())).ToList();

        var grainWrites = counters.Select(async counter =>
        {
            for (var i = 0; i < 10; i++)
            {
                await counter.AddAsync(1);
            }
        });
        var storeWrites = Enumerable.Range(0, 200).Select(i =>
            messages.TryInsertAsync(new ChatMessage { InstanceId = ServiceId, MessageId = $"m{i}", ChatId = "c" }, Cancel));
        await Task.WhenAll(grainWrites.Concat(storeWrites));

        Assert.All(await Task.WhenAll(counters.Select(c => c.ReadAsync())), c => Assert.Equal(new CounterSnapshot(10, "10", RecordExists: true), c));
        Assert.Equal(200, (await messages.GetMessagesAsync(ServiceId, "c", 500, null, Cancel)).Count);
    }

    [Fact]
    public async Task GrainStorageDataSource_OpenedConnection_WaitsForTheWriteLockInsideSqlite()
    {
        await using var source = new SqliteGrainStorageDataSource(DatabasePath);
        await using var connection = await source.OpenConnectionAsync(Cancel);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";

        Assert.Equal((long)SqliteDatabase.BusyTimeout.TotalMilliseconds, (long)(await command.ExecuteScalarAsync(Cancel))!);
    }

    protected override async Task<StoredState?> ReadRowAsync(string stateName, string key)
    {
        await using var connection = Open();
        await using var command = new SqliteCommand(
            "SELECT Version, PayloadBinary IS NOT NULL FROM OrleansStorage WHERE ServiceId = $service AND GrainTypeString = $state AND GrainIdExtensionString = $key",
            connection);
        command.Parameters.AddWithValue("$service", ServiceId);
        command.Parameters.AddWithValue("$state", stateName);
        command.Parameters.AddWithValue("$key", key);
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        if (!await reader.ReadAsync(Cancel))
        {
            return null;
        }

        var row = new StoredState(reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.GetBoolean(1));
        Assert.False(await reader.ReadAsync(Cancel), "more than one row for one state");
        return row;
    }

    protected override async Task<long> CountRowsAsync(string key)
    {
        await using var connection = Open();
        await using var command = new SqliteCommand("SELECT count(*) FROM OrleansStorage WHERE ServiceId = $service AND GrainIdExtensionString = $key", connection);
        command.Parameters.AddWithValue("$service", ServiceId);
        command.Parameters.AddWithValue("$key", key);
        return (long)(await command.ExecuteScalarAsync(Cancel))!;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }
}
