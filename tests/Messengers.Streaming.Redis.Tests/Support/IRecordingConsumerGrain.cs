namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>A consumer activated by implicit subscription; it has no calls of its own.</summary>
public interface IRecordingConsumerGrain : IGrainWithStringKey
{
    Task PingAsync();
}
