namespace Messengers.Bench.Streaming;

/// <summary>The implicit subscriber of the benchmark streams.</summary>
public interface IBenchConsumerGrain : IGrainWithStringKey
{
    Task PingAsync();
}
