using System.Collections.Concurrent;

namespace Messengers.Runtime.Catalog;

/// <summary>The activations of this silo by grain id: at most one live activation per grain.</summary>
internal sealed class ActivationDirectory(Silo silo)
{
    private readonly ConcurrentDictionary<GrainId, Activation> _activations = new();

    public int Count => _activations.Count;

    public ICollection<Activation> All => _activations.Values;

    public bool TryGet(GrainId grainId, out Activation activation) => _activations.TryGetValue(grainId, out activation!);

    /// <summary>The activation of <paramref name="grainId"/>, creating and starting one if none exists.</summary>
    public Activation GetOrCreate(GrainId grainId, GrainClass grainClass)
    {
        if (_activations.TryGetValue(grainId, out var existing))
        {
            return existing;
        }

        var created = new Activation(silo, grainClass, grainId);
        var winner = _activations.GetOrAdd(grainId, created);
        if (ReferenceEquals(winner, created))
        {
            created.Start();
        }

        return winner;
    }

    public void Remove(Activation activation) => _activations.TryRemove(new KeyValuePair<GrainId, Activation>(activation.GrainId, activation));
}
