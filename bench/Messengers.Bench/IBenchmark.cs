namespace Messengers.Bench;

/// <summary>A benchmark that prints its figures. Discovered by reflection; run with its name as argument.</summary>
public interface IBenchmark
{
    string Name { get; }

    Task RunAsync();
}
