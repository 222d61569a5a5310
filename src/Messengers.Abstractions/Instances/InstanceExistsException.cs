using Orleans;

namespace Messengers.Abstractions.Instances;

/// <summary>An instance with this id exists already.</summary>
[GenerateSerializer, Alias("messengers.InstanceExistsException")]
public sealed class InstanceExistsException : Exception
{
    public InstanceExistsException() { }
    public InstanceExistsException(string message) : base(message) { }
    public InstanceExistsException(string message, Exception inner) : base(message, inner) { }
}
