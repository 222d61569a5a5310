using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;
using Messengers.Data.Sqlite;

namespace Messengers.Data.Tests.Messages;

/// <summary><see cref="PublishedMarks"/> on a real SQLite message store.</summary>
public sealed class PublishedMarksTests : IAsyncLifetime
{
    private ScratchSqliteDatabase? _scratch;
    private SqliteMessageStore? _store;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _scratch = new ScratchSqliteDatabase("messengers-marks-", TimeProvider.System);
        await _scratch.Database.EnsureMigratedAsync(Cancel);
        _store = new SqliteMessageStore(_scratch.Database);
    }

    public ValueTask DisposeAsync() => _scratch?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task Add_ManyMarks_FlushLeavesOnlyUnmarkedInOutbox()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 300; i++)
        {
            await _store!.TryInsertAsync(Message(instance, $"m{i}"), Cancel);
        }

        await using var marks = new PublishedMarks(_store!, TimeProvider.System);
        for (var i = 0; i < 300; i++)
        {
            if (i != 7)
            {
                marks.Add(instance, $"m{i}");
            }
        }

        await marks.FlushAsync(Cancel);
        Assert.Equal(["m7"], (await _store!.GetUnpublishedAsync(500, Cancel)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task DisposeAsync_QueuedMarks_WrittenBeforeItCompletes()
    {
        var instance = "inst-" + Guid.NewGuid().ToString("N");
        await _store!.TryInsertAsync(Message(instance, "a"), Cancel);
        await _store.TryInsertAsync(Message(instance, "b"), Cancel);
        var marks = new PublishedMarks(_store, TimeProvider.System);
        marks.Add(instance, "a");
        marks.Add(instance, "b");
        await marks.DisposeAsync();

        Assert.Empty(await _store.GetUnpublishedAsync(500, Cancel));
        Assert.Throws<ObjectDisposedException>(() => marks.Add(instance, "c"));
    }

    private static ChatMessage Message(string instance, string id) => new()
    {
        InstanceId = instance,
        MessageId = id,
        ChatId = "chat",
        Body = id,
        Timestamp = new DateTimeOffset(2026, 11, 22, 7, 0, 0, TimeSpan.Zero),
    };
}
