using Orleans.Configuration;

namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>One Redis stream provider of a test cluster: its name, options and pulling-agent settings.</summary>
public sealed record ProviderSpec(string Name, Action<RedisStreamOptions> Options, Action<StreamPullingAgentOptions>? PullingAgent = null);
