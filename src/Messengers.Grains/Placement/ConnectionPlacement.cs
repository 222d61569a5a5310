namespace Messengers.Grains.Placement;

/// <summary>Connection grains go to the least loaded silo that can host their provider (see <see cref="ConnectionPlacementDirector"/>).</summary>
[Serializable, GenerateSerializer, Immutable, Alias("messengers.ConnectionPlacement")]
public sealed class ConnectionPlacement : PlacementStrategy
{
    internal static ConnectionPlacement Instance { get; } = new();
}
