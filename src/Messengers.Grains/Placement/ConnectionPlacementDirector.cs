using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace Messengers.Grains.Placement;

/// <summary>
/// Places an instance's connection grain: only on silos that host its provider (silo metadata
/// <see cref="SiloConnections.UnavailableProvidersMetadataKey"/>: a silo without a browser lists WhatsApp Web), never on
/// a silo that is stopping, and on the one with the fewest connections as the <see cref="IConnectionCensusGrain"/>
/// counts them. Without an answer from the census (it is moving with a silo that died) a random eligible silo is
/// taken: spreading matters less than reconnecting.
/// </summary>
public sealed partial class ConnectionPlacementDirector(
    IGrainFactory grains,
    SiloConnections local,
    IServiceProvider services,
    ILogger<ConnectionPlacementDirector> logger) : IPlacementDirector
{
    private static readonly TimeSpan CensusTimeout = TimeSpan.FromSeconds(3);
    private readonly ISiloMetadataCache? _metadata = services.GetService(typeof(ISiloMetadataCache)) as ISiloMetadataCache;

    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var compatible = context.GetCompatibleSilos(target);
        var candidates = compatible;
        if (local.IsDraining && candidates.Length > 1)
        {
            candidates = [.. candidates.Where(s => !s.Equals(context.LocalSilo))];
        }

        var provider = await ProviderOfAsync(target.GrainIdentity);
        if (provider is not null && _metadata is not null)
        {
            var hosting = candidates.Where(s => Hosts(s, provider)).ToArray();
            if (hosting.Length > 0)
            {
                candidates = hosting;
            }
            else
            {
                // The connection will fail on whichever silo and say why in the instance's status.
                LogNoSiloHosts(logger, provider, target.GrainIdentity.Key.ToString()!);
            }
        }

        if (candidates.Length == 1)
        {
            return candidates[0];
        }

        try
        {
            return await grains.GetGrain<IConnectionCensusGrain>(IConnectionCensusGrain.Key).ChooseAsync(candidates).WaitAsync(CensusTimeout);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogCensusUnavailable(logger, exception.Message);
            return candidates[Random.Shared.Next(candidates.Length)];
        }
    }

    private bool Hosts(SiloAddress silo, string provider)
    {
        var metadata = _metadata!.GetSiloMetadata(silo).Metadata;
        return !metadata.TryGetValue(SiloConnections.UnavailableProvidersMetadataKey, out var unavailable)
            || !unavailable.Split(',').Contains(provider, StringComparer.OrdinalIgnoreCase);
    }

    private async Task<string?> ProviderOfAsync(GrainId grain)
    {
        try
        {
            return await grains.GetGrain<IInstanceGrain>(grain.Key.ToString()!).GetProviderAsync().WaitAsync(CensusTimeout);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogProviderUnknown(logger, grain.Key.ToString()!, exception.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No silo of the cluster hosts provider {Provider} (instance {InstanceId}); its connection is placed anyway")]
    private static partial void LogNoSiloHosts(ILogger logger, string provider, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection census did not answer; a connection is placed on a random silo: {Reason}")]
    private static partial void LogCensusUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The provider of instance {InstanceId} could not be read for placement: {Reason}")]
    private static partial void LogProviderUnknown(ILogger logger, string instanceId, string reason);
}
