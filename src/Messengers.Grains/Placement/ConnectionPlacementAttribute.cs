using Orleans.Placement;

namespace Messengers.Grains.Placement;

/// <summary>Places the grain with <see cref="ConnectionPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ConnectionPlacementAttribute() : PlacementAttribute(ConnectionPlacement.Instance);
