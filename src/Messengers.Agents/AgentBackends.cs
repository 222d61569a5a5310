namespace Messengers.Agents;

/// <summary>
/// Resolves an agent backend by name, case-insensitively. Every <see cref="IAgentBackend"/> registered in DI is
/// found here, so a backend added later (e.g. "redis") only needs <c>services.AddSingleton&lt;IAgentBackend, …&gt;()</c>.
/// </summary>
public sealed class AgentBackends
{
    private readonly Dictionary<string, IAgentBackend> _byName;

    public AgentBackends(IEnumerable<IAgentBackend> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        _byName = new Dictionary<string, IAgentBackend>(StringComparer.OrdinalIgnoreCase);
        foreach (var backend in backends)
        {
            // The last registration of a name wins, as with DI itself.
            _byName[backend.Name] = backend;
        }
    }

    /// <summary>The registered backend names, sorted.</summary>
    public IReadOnlyList<string> Names => _byName.Keys.Order(StringComparer.Ordinal).ToArray();

    public bool TryGet(string name, out IAgentBackend backend) => _byName.TryGetValue(name, out backend!);

    /// <summary>The backend called <paramref name="name"/>; throws <see cref="ArgumentException"/> naming the known ones otherwise.</summary>
    public IAgentBackend Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out var backend)
            ? backend
            : throw new ArgumentException($"No agent backend '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
    }
}
