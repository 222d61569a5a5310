using System.Reflection;
using Messengers.Bench;

// Every benchmark is a class implementing IBenchmark; run one by name, or all with no argument.
var benchmarks = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

var selected = args.Length == 0 ? benchmarks : benchmarks.Where(b => args.Contains(b.Name, StringComparer.OrdinalIgnoreCase)).ToList();
if (selected.Count == 0)
{
    Console.WriteLine($"Unknown benchmark. Available: {string.Join(", ", benchmarks.Select(b => b.Name))}");
    return 1;
}

Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
foreach (var benchmark in selected)
{
    Console.WriteLine($"== {benchmark.Name}");
    await benchmark.RunAsync();
}

return 0;
