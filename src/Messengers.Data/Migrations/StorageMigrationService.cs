using Microsoft.Extensions.Hosting;

namespace Messengers.Data.Migrations;

/// <summary>
/// Brings every registered <see cref="IMigratedDatabase"/> up to date in <see cref="StartingAsync"/>, which the host
/// runs before any hosted service's StartAsync, so the silo takes no call before the schema is current. A failure
/// stops the host from starting.
/// </summary>
public sealed class StorageMigrationService(IEnumerable<IMigratedDatabase> databases) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        foreach (var database in databases.Distinct())
        {
            await database.EnsureMigratedAsync(cancellationToken);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
