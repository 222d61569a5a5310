namespace Messengers.Bench.Streaming;

/// <summary>A chat-sized event; <see cref="SentAt"/> is a <see cref="System.Diagnostics.Stopwatch"/> timestamp of this process.</summary>
[GenerateSerializer, Immutable, Alias("Messengers.Bench.Streaming.BenchEvent")]
public sealed record BenchEvent(string Chat, int Sequence, string Text, long SentAt);
