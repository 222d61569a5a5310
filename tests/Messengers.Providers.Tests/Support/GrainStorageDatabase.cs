using Messengers.Data;
using Microsoft.Extensions.DependencyInjection;

namespace Messengers.Providers.Tests.Support;

/// <summary>
/// A database for Orleans' ADO.NET grain storage, as the host configures it: the invariant and connection string of
/// <c>AddAdoNetGrainStorage</c>, and the registration of Messengers.Data whose migrator creates Orleans' tables (and ours)
/// when a silo starts.
/// </summary>
public sealed record GrainStorageDatabase(string Invariant, string ConnectionString, Action<IServiceCollection> Register)
{
    /// <summary>The embedded configuration: the silo's SQLite file (Orleans serves "System.Data.SQLite" with Microsoft.Data.Sqlite).</summary>
    public static GrainStorageDatabase Sqlite(string file)
        => new("System.Data.SQLite", $"Data Source={file}", services => services.AddSqliteData(file));

    /// <summary>The production configuration: PostgreSQL through Npgsql.</summary>
    public static GrainStorageDatabase Postgres(string connectionString)
        => new("Npgsql", connectionString, services => services.AddPostgresData(connectionString));
}
