using System.Collections.Concurrent;
using System.Reflection;
using Messengers.Runtime.Catalog;

namespace Messengers.Runtime.Invocation;

/// <summary>
/// A grain reference: a proxy implementing a grain interface whose calls go through placement and the
/// target activation's mailbox. Created by <see cref="IGrainFactory.GetGrain{TGrainInterface}"/>.
/// </summary>
public class GrainReference : DispatchProxy
{
    private static readonly ConcurrentDictionary<MethodInfo, GrainMethod> Methods = new();
    private static readonly ConcurrentDictionary<Type, GrainReference> Prototypes = new();

    private Silo? _silo;

    public GrainId GrainId { get; private set; }

    internal static TGrainInterface Create<TGrainInterface>(Silo silo, GrainId grainId)
    {
        // DispatchProxy.Create builds every proxy through reflection (Activator with a binder, several arrays), and
        // references are made on every call path; a shallow copy of one prototype per interface is all it takes.
        var prototype = Prototypes.GetOrAdd(typeof(TGrainInterface), static _ => (GrainReference)(object)Create<TGrainInterface, GrainReference>()!);
        var reference = (GrainReference)prototype.MemberwiseClone();
        reference._silo = silo;
        reference.GrainId = grainId;
        return (TGrainInterface)(object)reference;
    }

    internal static GrainMethod GetMethod(MethodInfo method) => Methods.GetOrAdd(method, GrainMethod.Create);

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.DeclaringType == typeof(IAddressable))
        {
            return GrainId; // IGrain extends IAddressable; the proxy answers it without a call
        }

        return GetMethod(targetMethod).Call(_silo!, GrainId, args ?? []);
    }

    public override string ToString() => $"GrainReference({GrainId})";

    public override bool Equals(object? obj) => obj is GrainReference other && other.GrainId == GrainId;

    public override int GetHashCode() => GrainId.GetHashCode();
}
