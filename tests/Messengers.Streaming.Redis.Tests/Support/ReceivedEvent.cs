namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>One delivery seen by the recording consumer.</summary>
public sealed record ReceivedEvent(string Provider, string Stream, int Number, string Token);
