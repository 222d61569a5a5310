namespace Messengers.Data.Tests.Orleans.Grains;

[GenerateSerializer, Alias("tests.LabelState")]
public sealed class LabelState
{
    [Id(0)] public string Text { get; set; } = "";
}
