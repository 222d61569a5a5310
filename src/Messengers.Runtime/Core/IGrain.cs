namespace Messengers.Runtime;

/// <summary>Marker for grain interfaces. Methods return <see cref="Task"/>, <see cref="Task{T}"/>, <see cref="ValueTask"/> or <see cref="ValueTask{T}"/>.</summary>
public interface IGrain : IAddressable
{
}

/// <summary>A grain addressed by a string key, as in Orleans.</summary>
public interface IGrainWithStringKey : IGrain
{
}

/// <summary>Anything that has a grain identity: grain instances and grain references.</summary>
public interface IAddressable
{
    GrainId GrainId { get; }
}
