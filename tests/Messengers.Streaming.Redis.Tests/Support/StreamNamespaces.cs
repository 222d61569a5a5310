namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>Stream namespaces the recording consumer subscribes to implicitly, each with its own behaviour.</summary>
public static class StreamNamespaces
{
    /// <summary>The consumer records every event.</summary>
    public const string Recorded = "recorded";

    /// <summary>The consumer records an event, then waits until the test opens <see cref="StreamRecorder.Gate"/>.</summary>
    public const string Blocking = "blocking";

    /// <summary>The consumer throws on events marked <see cref="TestEvent.Poison"/>, records the others.</summary>
    public const string Poison = "poison";
}
