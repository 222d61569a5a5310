using Messengers.Abstractions.RateLimits;
using Messengers.Grains.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messengers.Grains.Tests;

/// <summary>A rate-limit partition is one window for the whole cluster, whichever silo asks.</summary>
[Collection(TwoSiloCollection.Name)]
public sealed class RateLimitGrainTests(TwoSiloCluster cluster)
{
    [Fact]
    public async Task RateLimit_CallsThroughTwoSilos_CountedAsOneWindow()
    {
        var window = TimeSpan.FromSeconds(2);
        var key = "test/" + Guid.NewGuid().ToString("N");
        var viaA = cluster.SiloService<IGrainFactory>(0).GetGrain<IRateLimitGrain>(key);
        var viaB = cluster.SiloService<IGrainFactory>(1).GetGrain<IRateLimitGrain>(key);

        Assert.True((await viaA.TryAcquireAsync(3, window)).Acquired);
        Assert.True((await viaB.TryAcquireAsync(3, window)).Acquired);
        Assert.True((await viaA.TryAcquireAsync(3, window)).Acquired);
        var refused = await viaB.TryAcquireAsync(3, window);
        Assert.False(refused.Acquired);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMilliseconds(1), window);
        Assert.False((await viaA.TryAcquireAsync(3, window)).Acquired);

        // Once the oldest permit has left the window, one more call may go (a sliding window, not a reset).
        await Task.Delay(refused.RetryAfter + TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);
        Assert.True((await viaB.TryAcquireAsync(3, window)).Acquired);
    }

    [Fact]
    public async Task RateLimit_OtherPartition_HasItsOwnWindow()
    {
        var grains = cluster.SiloService<IGrainFactory>(0);
        var busy = grains.GetGrain<IRateLimitGrain>("test/" + Guid.NewGuid().ToString("N"));
        Assert.True((await busy.TryAcquireAsync(1, TimeSpan.FromMinutes(1))).Acquired);
        Assert.False((await busy.TryAcquireAsync(1, TimeSpan.FromMinutes(1))).Acquired);

        var other = grains.GetGrain<IRateLimitGrain>("test/" + Guid.NewGuid().ToString("N"));
        Assert.True((await other.TryAcquireAsync(1, TimeSpan.FromMinutes(1))).Acquired);
    }
}
