namespace Messengers.Data.Tests.Orleans.Grains;

/// <summary>A grain with one durable reminder, counting the ticks its current activation received.</summary>
public interface IAlarmGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan period);

    Task StopAsync();

    Task<int> TicksAsync();
}
