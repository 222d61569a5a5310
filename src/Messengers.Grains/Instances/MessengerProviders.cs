using Messengers.Abstractions.Providers;

namespace Messengers.Grains.Instances;

/// <summary>The registered messenger providers by name.</summary>
public sealed class MessengerProviders(IEnumerable<IMessengerProvider> providers)
{
    private readonly Dictionary<string, IMessengerProvider> _byName = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public bool TryGet(string name, out IMessengerProvider provider) => _byName.TryGetValue(name, out provider!);

    public IMessengerProvider Get(string name)
        => TryGet(name, out var provider) ? provider : throw new KeyNotFoundException($"Unknown provider '{name}'. Known providers: {string.Join(", ", Names)}.");
}

/// <summary>An instance with this id exists already.</summary>
public sealed class InstanceExistsException : Exception
{
    public InstanceExistsException() { }
    public InstanceExistsException(string message) : base(message) { }
    public InstanceExistsException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>No instance with this id exists.</summary>
public sealed class InstanceNotFoundException : Exception
{
    public InstanceNotFoundException() { }
    public InstanceNotFoundException(string message) : base(message) { }
    public InstanceNotFoundException(string message, Exception inner) : base(message, inner) { }
}
