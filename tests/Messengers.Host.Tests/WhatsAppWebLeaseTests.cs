using System.Net;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Messengers.Testing.Fakes.WhatsAppWeb;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using TestApi = Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// One WhatsApp account, two hosts: it is never driven twice, and the other host takes it over when its silo stops. A
/// class of its own so that its long waits (a reminder, up to a minute) overlap the other classes.
/// </summary>
public sealed class WhatsAppWebLeaseTests : WhatsAppWebHostTestBase
{
    /// <summary>
    /// Two hosts on one SQLite data folder are two separate silos (each its own embedded cluster): only the storage lease
    /// keeps silo B from opening the account silo A drives, until A stops.
    /// </summary>
    [Fact]
    public async Task Lease_TwoSilosOnOneDataFolder_OneDrivesTheAccountTheOtherTakesOverWhenItStops()
    {
        var settings = await BackendAsync();
        var (hostA, id) = await StartWithReadyAccountAsync(settings, "silo-a");

        // Silo B resumes the running instance, but must not open the account.
        var hostB = StartHost(settings, "silo-b");
        using var adminB = HostFixture.Client(hostB, HostFixture.AdminKey);
        var waiting = await Eventually.UntilAsync(
            () => adminB.GetInstanceAsync(id),
            i => i.GetProperty("statusReason").ValueKind == JsonValueKind.String,
            TimeSpan.FromSeconds(60), // silo B starts (Orleans, its resume of running instances) beside other classes' browsers
            "silo B to say why it waits");
        Assert.Equal("Starting", waiting.Status());
        Assert.Contains("driven by silo silo-a", waiting.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, Fake.PageLoads);
        Assert.Equal(1, Fake.RegisteredPages);

        await StopAndExpectTakeoverAsync(hostA, adminB, id, TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Two hosts on one PostgreSQL database form one Orleans cluster: the instance has one connection in the cluster,
    /// which silo B answers for without opening the account again; when silo A stops, B takes the account over (its
    /// keep-connected reminder, within a minute) and answers.
    /// </summary>
    [Fact]
    public async Task Lease_TwoSilosOneCluster_OneConnectionTheOtherTakesOverWhenItStops()
    {
        var settings = await BackendAsync("postgres");
        var (hostA, id) = await StartWithReadyAccountAsync(settings, "silo-a");

        var hostB = StartHost(settings, "silo-b");
        using var adminB = HostFixture.Client(hostB, HostFixture.AdminKey);
        var grainsB = hostB.Services.GetRequiredService<IGrainFactory>();
        var silos = await grainsB.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, TestApi.Ct);
        Assert.Equal(2, silos.Count);
        // What B's start-up (and the keep-connected reminder) does for a running instance: it finds the connection.
        await grainsB.GetGrain<IInstanceGrain>(id).ResumeAsync();
        var seenFromB = await adminB.GetInstanceAsync(id);
        Assert.Equal("Ready", seenFromB.Status());
        Assert.Equal(JsonValueKind.Null, seenFromB.GetProperty("statusReason").ValueKind);
        Assert.Equal(1, Fake.PageLoads);
        Assert.Equal(1, Fake.RegisteredPages);

        await StopAndExpectTakeoverAsync(hostA, adminB, id, TimeSpan.FromSeconds(100));
    }

    private async Task<(MessengersFactory Host, string Id)> StartWithReadyAccountAsync(Dictionary<string, string?> settings, string siloName)
    {
        var host = StartHost(settings, siloName);
        using var admin = HostFixture.Client(host, HostFixture.AdminKey);
        var id = await CreateWhatsAppInstanceAsync(admin);
        await Fake.WaitForPagesAsync(1);
        await EmitAndSeeQrAsync(admin, id, "ref-1,static,identity,secret");
        await Fake.AuthenticateAsync(MyWid);
        await admin.WaitForStatusAsync(id, "Ready");
        return (host, id);
    }

    /// <summary>Stops <paramref name="hostA"/>; the other host opens the account (a second page, never two live at once) and answers.</summary>
    private async Task StopAndExpectTakeoverAsync(MessengersFactory hostA, HttpClient adminB, string id, TimeSpan takeover)
    {
        Hosts.Remove(hostA);
        await hostA.DisposeAsync();
        await Fake.WaitForPagesAsync(2, takeover);
        var takenOver = await SlowStatusAsync(adminB, id, "Ready");

        Assert.Equal(MyWid, takenOver.GetProperty("account").GetProperty("id").GetString());
        Assert.Equal(2, Fake.PageLoads);
        Assert.Equal(1, Fake.MaxLivePages);
        var reply = Fake.Sent.Count;
        await Fake.ReceiveAsync(new { from = Customer, body = "who answers?" });
        await Eventually.UntilAsync(() => Task.FromResult(Fake.Sent), s => s.Count == reply + 1, TimeSpan.FromSeconds(30), "silo B's echo reply");
    }
}
