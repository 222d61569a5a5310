namespace Messengers.Abstractions.Providers;

/// <summary>The registered messenger providers by name.</summary>
public sealed class MessengerProviders(IEnumerable<IMessengerProvider> providers)
{
    private readonly Dictionary<string, IMessengerProvider> _byName = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public bool TryGet(string name, out IMessengerProvider provider) => _byName.TryGetValue(name, out provider!);

    public IMessengerProvider Get(string name)
        => TryGet(name, out var provider) ? provider : throw new KeyNotFoundException($"Unknown provider '{name}'. Known providers: {string.Join(", ", Names)}.");
}
