namespace Messengers.Data.Tests.Orleans.Grains;

/// <summary>What a counter activation holds: its value and what the storage told it (etag, whether a record exists).</summary>
[GenerateSerializer, Immutable, Alias("tests.CounterSnapshot")]
public sealed record CounterSnapshot([property: Id(0)] int Value, [property: Id(1)] string? ETag, [property: Id(2)] bool RecordExists);
