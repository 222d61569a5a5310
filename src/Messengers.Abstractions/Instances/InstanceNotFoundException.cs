using Orleans;

namespace Messengers.Abstractions.Instances;

/// <summary>No instance with this id exists.</summary>
[GenerateSerializer, Alias("messengers.InstanceNotFoundException")]
public sealed class InstanceNotFoundException : Exception
{
    public InstanceNotFoundException() { }
    public InstanceNotFoundException(string message) : base(message) { }
    public InstanceNotFoundException(string message, Exception inner) : base(message, inner) { }
}
