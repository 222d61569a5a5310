using System.Collections.Concurrent;
using Orleans.Metadata;

namespace Messengers.Host.Hosting;

/// <summary>
/// Remembers the <see cref="GrainInterfaceType"/> of each grain interface. Orleans works it out again on every
/// <c>GetGrain</c> (reading the interface's attributes, then formatting its type name), which a relayed message paid
/// about ten times (5 % of the gateway's CPU). The answer is Orleans' own: its attribute provider, then its naming
/// convention, exactly as its resolver would fall back. Generic interfaces are left to Orleans (it adds their type
/// arguments).
/// </summary>
public sealed class CachedGrainInterfaceTypeProvider(IServiceProvider services) : IGrainInterfaceTypeProvider
{
    private readonly ConcurrentDictionary<Type, GrainInterfaceType> _types = new();
    private readonly AttributeGrainInterfaceTypeProvider _attributes = new(services);

    public bool TryGetGrainInterfaceType(Type type, out GrainInterfaceType grainInterfaceType)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.IsGenericType)
        {
            grainInterfaceType = default;
            return false;
        }

        if (!_types.TryGetValue(type, out grainInterfaceType))
        {
            grainInterfaceType = _types.GetOrAdd(type, Resolve); // the method group is a new delegate each time: only on a miss
        }

        return true;
    }

    private GrainInterfaceType Resolve(Type type)
        => _attributes.TryGetGrainInterfaceType(type, out var fromAttribute)
            ? fromAttribute
            : services.GetRequiredService<GrainInterfaceTypeResolver>().GetGrainInterfaceTypeByConvention(type);
}
