namespace Messengers.Streaming.Redis.Tests.Support;

/// <summary>The event the tests produce: its number in its stream, and whether the consumer must fail on it.</summary>
[GenerateSerializer, Immutable, Alias("Messengers.Streaming.Redis.Tests.TestEvent")]
public sealed record TestEvent(int Number, bool Poison = false);
