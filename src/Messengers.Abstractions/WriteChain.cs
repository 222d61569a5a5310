namespace Messengers.Abstractions;

/// <summary>
/// Runs a grain's state writes one after another. Calls that interleave (a reentrant or always-interleaving method, a
/// timer that interleaves) may each save; two writes in flight at once would carry the same etag and one would fail.
/// A write waits for the one before it, whatever that one's outcome (its own caller saw its failure; this write
/// carries the latest state anyway).
/// </summary>
public sealed class WriteChain
{
    private Task _last = Task.CompletedTask;

    /// <summary>The newest write, to wait for before the activation ends.</summary>
    public Task Last => _last;

    /// <summary>Runs <paramref name="write"/> once the previous write has finished.</summary>
    public Task Then(Func<Task> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        _last = AfterAsync(_last, write);
        return _last;
    }

    private static async Task AfterAsync(Task before, Func<Task> write)
    {
        try
        {
            await before;
        }
        catch (Exception)
        {
            // reported to the earlier write's caller
        }

        await write();
    }
}
