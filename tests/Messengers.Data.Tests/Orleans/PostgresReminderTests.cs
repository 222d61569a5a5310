using Messengers.Data.Tests.Orleans.Grains;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// Orleans' ADO.NET reminders (Invariant "Npgsql") on the reminder table and queries of our migrations: a reminder
/// is stored, fires, survives a silo restart and is removed again. Reminders as short as a second are allowed here
/// (ReminderOptions.MinimumReminderPeriod; Orleans warns that they are unsuitable for production).
/// </summary>
[Collection(OrleansPostgresCollection.Name)]
public sealed class PostgresReminderTests(PostgresServer server) : IAsyncLifetime
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private readonly List<TestSilo> _silos = [];
    private readonly string _serviceId = "svc-" + Guid.NewGuid().ToString("N")[..12];
    private string _connectionString = "";
    private NpgsqlDataSource? _reader;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("orleans_reminders");
        _reader = NpgsqlDataSource.Create(_connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task Reminder_Registered_StoredFiresAndUnregisterRemovesIt()
    {
        await using var silo = await StartSiloAsync();
        var alarm = silo.Grains.GetGrain<IAlarmGrain>("alarm-" + Guid.NewGuid().ToString("N")[..8]);

        await alarm.StartAsync(Period);

        var stored = await ReadRemindersAsync();
        var row = Assert.Single(stored);
        Assert.Equal((AlarmGrain.ReminderName, (long)Period.TotalMilliseconds), row);
        await Eventually.UntilAsync(alarm.TicksAsync, ticks => ticks >= 2, Wait, "two ticks");

        await alarm.StopAsync();

        Assert.Empty(await ReadRemindersAsync());
        Assert.True(silo.Logs.Errors("Reminder").Count == 0, silo.Logs.ToString());
    }

    [Fact]
    public async Task Reminder_SiloRestarted_NewSiloReadsItAndFiresIt()
    {
        var key = "alarm-" + Guid.NewGuid().ToString("N")[..8];
        await using (var first = await StartSiloAsync())
        {
            await first.Grains.GetGrain<IAlarmGrain>(key).StartAsync(Period);
        }

        await using var second = await StartSiloAsync();

        // The new silo loads the reminder from the table (range query) and activates the grain to deliver it; the
        // calls below only observe the activation the reminder created.
        var alarm = second.Grains.GetGrain<IAlarmGrain>(key);
        await Eventually.UntilAsync(alarm.TicksAsync, ticks => ticks >= 1, Wait, "a tick on the new silo");
        await alarm.StopAsync();
        Assert.Empty(await ReadRemindersAsync());
    }

    [Fact]
    public async Task ReminderTable_UpsertReadRemoveAndRanges_FollowOrleansContract()
    {
        // The queries of migration 012 through the silo's own reminder table. The reminders start tomorrow, so the
        // silo's reminder service never tries to deliver them.
        await using var silo = await StartSiloAsync();
        var table = silo.Services.GetRequiredService<IReminderTable>();
        var tomorrow = DateTime.UtcNow.AddDays(1);
        var a = GrainId.Create("alarm", "a-" + Guid.NewGuid().ToString("N")[..8]);
        var b = GrainId.Create("alarm", "b-" + Guid.NewGuid().ToString("N")[..8]);

        var created = await table.UpsertRow(new ReminderEntry { GrainId = a, ReminderName = "r", StartAt = tomorrow, Period = TimeSpan.FromMinutes(3) }, Cancel);
        var changed = await table.UpsertRow(new ReminderEntry { GrainId = a, ReminderName = "r", StartAt = tomorrow, Period = TimeSpan.FromMinutes(4) }, Cancel);
        await table.UpsertRow(new ReminderEntry { GrainId = b, ReminderName = "r", StartAt = tomorrow, Period = TimeSpan.FromMinutes(3) }, Cancel);

        Assert.NotEqual(created, changed);
        var read = await table.ReadRow(a, "r", Cancel);
        Assert.NotNull(read);
        Assert.Equal((TimeSpan.FromMinutes(4), changed), (read.Period, read.ETag));
        Assert.Equal(tomorrow, read.StartAt, TimeSpan.FromMilliseconds(1));
        Assert.Single((await table.ReadRows(a, Cancel)).Reminders);
        var hash = a.GetUniformHashCode();
        if ((int)(hash - 1) < (int)hash)
        {
            // (hash - 1, hash] holds a; the wrapped range (hash, hash - 1] holds every hash but a's.
            Assert.Contains((await table.ReadRows(hash - 1, hash, Cancel)).Reminders, r => r.GrainId == a);
            var wrapped = (await table.ReadRows(hash, hash - 1, Cancel)).Reminders;
            Assert.DoesNotContain(wrapped, r => r.GrainId == a);
            Assert.Equal(b.GetUniformHashCode() != hash, wrapped.Any(r => r.GrainId == b));
        }

        Assert.False(await table.RemoveRow(a, "r", created!, Cancel));
        Assert.True(await table.RemoveRow(a, "r", changed!, Cancel));
        Assert.Null(await table.ReadRow(a, "r", Cancel));
        await table.TestOnlyClearTable(Cancel);
        Assert.Empty(await ReadRemindersAsync());
    }

    private async Task<TestSilo> StartSiloAsync()
    {
        var ports = TestSilo.FreePorts();
        var silo = await TestSilo.StartAsync(services => services.AddPostgresData(_connectionString), silo =>
        {
            silo.UseLocalhostClustering(ports.Silo, ports.Gateway, serviceId: _serviceId, clusterId: _serviceId);
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = _connectionString;
            });
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = Period);
        });
        _silos.Add(silo);
        return silo;
    }

    private async Task<IReadOnlyList<(string Name, long Period)>> ReadRemindersAsync()
    {
        await using var command = _reader!.CreateCommand("SELECT ReminderName, Period FROM OrleansRemindersTable WHERE ServiceId = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = _serviceId });
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var rows = new List<(string, long)>();
        while (await reader.ReadAsync(Cancel))
        {
            rows.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return rows;
    }
}
