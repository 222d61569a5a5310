using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Messengers.Data.Postgres;

public static class PostgresGrainStorageExtensions
{
    /// <summary>
    /// Grain state <paramref name="name"/> in PostgreSQL through Orleans' ADO.NET grain storage (its tables are
    /// migrations 009-012), wrapped in <see cref="ReconnectingGrainStorage"/> so that a database restart costs no
    /// failed write. Orleans' options, validation and lifecycle registration stay its own.
    /// </summary>
    public static ISiloBuilder AddPostgresGrainStorage(this ISiloBuilder silo, string name, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.AddAdoNetGrainStorage(name, storage =>
        {
            storage.Invariant = "Npgsql";
            storage.ConnectionString = connectionString;
        });
        var registered = silo.Services.Single(d => d.ServiceType == typeof(IGrainStorage) && d.IsKeyedService && Equals(d.ServiceKey, name));
        silo.Services.Remove(registered);
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (provider, _) => new ReconnectingGrainStorage(
            AdoNetGrainStorageFactory.Create(provider, name),
            provider.GetRequiredService<ILogger<ReconnectingGrainStorage>>()));
        return silo;
    }
}
