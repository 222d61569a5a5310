namespace Messengers.Data.Tests.Orleans.Grains;

[GenerateSerializer, Alias("tests.CounterState")]
public sealed class CounterState
{
    [Id(0)] public int Value { get; set; }
}
