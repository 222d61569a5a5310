using Orleans;

namespace Messengers.Abstractions.Instances;

/// <summary>The consumer of one instance's status stream (key: instance id); it only consumes, so it has no methods.</summary>
public interface IStatusForwarderGrain : IGrainWithStringKey;
