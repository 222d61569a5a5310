namespace Messengers.Data.Tests.Orleans.Grains;

/// <summary>A number kept in grain state "counter" of storage <see cref="GrainStorageNames.Default"/>.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds <paramref name="delta"/>, writes the state and returns the new value.</summary>
    Task<int> AddAsync(int delta);

    Task<CounterSnapshot> ReadAsync();

    Task ClearAsync();

    /// <summary>Ends the activation, so that the next call reads the state from storage again.</summary>
    Task DeactivateAsync();
}
