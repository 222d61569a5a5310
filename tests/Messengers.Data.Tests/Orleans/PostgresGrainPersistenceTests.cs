using Messengers.Data.Postgres;
using Messengers.Data.Tests.Orleans.Grains;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Orleans' ADO.NET grain storage with Invariant "Npgsql" on a database migrated by our migrator at host start
/// (AddPostgresData). Storage "store" opens its own connections from the connection string; "store-delete" borrows the
/// connection pool of <see cref="PostgresDatabase"/> through <see cref="AdoNetGrainStorageOptions.DataSource"/>.
/// </summary>
[Collection(OrleansPostgresCollection.Name)]
public sealed class PostgresGrainPersistenceTests(PostgresServer server) : GrainPersistenceContract
{
    private string _connectionString = "";
    private NpgsqlDataSource? _reader;

    public override async ValueTask InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("orleans_storage");
        _reader = NpgsqlDataSource.Create(_connectionString);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }
    }

    protected override void AddDatabase(IServiceCollection services) => services.AddPostgresData(_connectionString);

    protected override void ConfigureStorage(OptionsBuilder<AdoNetGrainStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Name == GrainStorageNames.DeleteOnClear)
        {
            options.Configure<PostgresDatabase>((o, database) =>
            {
                o.Invariant = "Npgsql";
                o.DataSource = database.DataSource;
            });
        }
        else
        {
            options.Configure(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = _connectionString;
            });
        }
    }

    protected override async Task<StoredState?> ReadRowAsync(string stateName, string key)
    {
        await using var command = _reader!.CreateCommand(
            "SELECT version, payloadbinary IS NOT NULL FROM OrleansStorage WHERE serviceid = $1 AND graintypestring = $2 AND grainidextensionstring = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = ServiceId });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName });
        command.Parameters.Add(new NpgsqlParameter { Value = key });
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
        await using var command = _reader!.CreateCommand("SELECT count(*) FROM OrleansStorage WHERE serviceid = $1 AND grainidextensionstring = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = ServiceId });
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        return (long)(await command.ExecuteScalarAsync(Cancel))!;
    }
}
