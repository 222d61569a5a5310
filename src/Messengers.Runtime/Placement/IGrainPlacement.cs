namespace Messengers.Runtime.Placement;

/// <summary>Where a grain's activation lives. Every call asks this first; the single-silo runtime places everything locally.</summary>
public interface IGrainPlacement
{
    /// <summary>True when the activation of <paramref name="grainId"/> belongs to this silo.</summary>
    bool IsLocal(GrainId grainId);
}

/// <summary>Forwards calls for grains owned by another silo. The single-silo runtime has none.</summary>
public interface IRemoteGrainInvoker
{
    Task<TResult> InvokeAsync<TResult>(GrainId grainId, string interfaceName, string methodName, byte[] arguments, CancellationToken cancellationToken);
}

public sealed class LocalGrainPlacement : IGrainPlacement
{
    public bool IsLocal(GrainId grainId) => true;
}
