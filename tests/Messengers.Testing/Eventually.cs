namespace Messengers.Testing;

/// <summary>Polls until a condition holds (no fixed sleeps): returns the last value, or fails with it after the timeout.</summary>
public static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(15)).TotalMilliseconds;
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what ?? "a condition"}; last value: {value}");
            }

            await Task.Delay(delay, Xunit.TestContext.Current.CancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    public static Task UntilAsync(Func<Task<bool>> condition, int timeoutSeconds = 15, string? what = null)
        => UntilAsync(condition, done => done, TimeSpan.FromSeconds(timeoutSeconds), what);
}
