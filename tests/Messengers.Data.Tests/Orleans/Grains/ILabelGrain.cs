namespace Messengers.Data.Tests.Orleans.Grains;

/// <summary>A text in grain state "label": another grain class, another state name, keys shared with counters.</summary>
public interface ILabelGrain : IGrainWithStringKey
{
    Task SetAsync(string text);

    Task<string> GetAsync();

    Task DeactivateAsync();
}
