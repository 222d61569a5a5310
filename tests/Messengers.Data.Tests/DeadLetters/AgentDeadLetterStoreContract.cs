using Messengers.Abstractions.Messages;
using Messengers.Data.DeadLetters;

namespace Messengers.Data.Tests.DeadLetters;

/// <summary>The dead-letter store's contract, run on SQLite and on a real PostgreSQL (migrations 004 and 007 on both).</summary>
public abstract class AgentDeadLetterStoreContract
{
    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    protected static readonly DateTimeOffset At = new DateTimeOffset(2026, 11, 22, 6, 30, 15, TimeSpan.Zero).AddTicks(1234567);

    protected abstract IAgentDeadLetterStore Store { get; }

    protected static AgentDeadLetter DeadLetter(string instanceId, string messageId, string error = "Agent 'support' (agno) failed after 1 attempt(s): HTTP 503", int attempts = 3, DateTimeOffset? at = null) => new()
    {
        InstanceId = instanceId,
        ChatId = "chat-1",
        MessageId = messageId,
        MessageIds = [messageId, messageId + "-b"],
        From = "visitor-1",
        IsGroup = false,
        Text = "hello\nanyone?",
        Backend = "agno",
        AgentId = "support",
        Reason = "HttpStatus",
        StatusCode = 503,
        Error = error,
        Attempts = attempts,
        FailedAt = at ?? At,
    };

    [Fact]
    public async Task Record_NewFailure_StoredWithEveryFieldAndMicrosecondTime()
    {
        var stored = await Store.RecordAsync(DeadLetter("inst-a", "m1"), Cancel);

        var read = await Store.GetAsync("inst-a", stored.Id, Cancel);
        Assert.NotNull(read);
        Assert.True(read.Id > 0);
        Assert.Equal(["m1", "m1-b"], read.MessageIds);
        Assert.Equal(("chat-1", "visitor-1", "hello\nanyone?", "agno", "support", "HttpStatus", 503, 3), (read.ChatId, read.From, read.Text, read.Backend, read.AgentId, read.Reason, read.StatusCode, read.Attempts));
        Assert.Equal(AgentDeadLetterStatus.Open, read.Status);
        Assert.Equal(At.AddTicks(-(At.UtcTicks % 10)), read.FailedAt);
        Assert.Null(read.ResolvedAt);
        Assert.Empty(read.Media);
        Assert.Null(await Store.GetAsync("inst-other", stored.Id, Cancel));
    }

    [Fact]
    public async Task Record_WithMediaThenAgainWithOther_MediaRefsReadBackInOrderAndReplaced()
    {
        MediaRef photo = new("media-photo", "image/jpeg", null, 3000, "ab12");
        MediaRef document = new("media-doc", "application/pdf", "invoice \"March\".pdf", 120_000);
        var stored = await Store.RecordAsync(DeadLetter("inst-e", "m1") with { Media = [photo, document] }, Cancel);

        Assert.Equal([photo, document], stored.Media);
        Assert.Equal([photo, document], (await Store.GetAsync("inst-e", stored.Id, Cancel))!.Media);
        await Store.RecordAsync(DeadLetter("inst-e", "m1") with { Media = [document] }, Cancel);
        Assert.Equal([document], Assert.Single(await Store.ListAsync("inst-e", null, null, 10, Cancel)).Media);
    }

    [Fact]
    public async Task Record_SameFirstMessageAgain_OneRowUpdated()
    {
        var first = await Store.RecordAsync(DeadLetter("inst-b", "m1", error: "first error", attempts: 2), Cancel);
        var second = await Store.RecordAsync(DeadLetter("inst-b", "m1", error: "second error", attempts: 5) with { StatusCode = null, Reason = "Timeout" }, Cancel);

        Assert.Equal(first.Id, second.Id);
        var row = Assert.Single(await Store.ListAsync("inst-b", null, null, 10, Cancel));
        Assert.Equal(("second error", 5, "Timeout", (int?)null), (row.Error, row.Attempts, row.Reason, row.StatusCode));
    }

    [Fact]
    public async Task Resolve_ThenFailAgain_ResolvedThenReopened()
    {
        var stored = await Store.RecordAsync(DeadLetter("inst-c", "m1"), Cancel);

        Assert.True(await Store.ResolveAsync("inst-c", stored.Id, At.AddMinutes(1), Cancel));
        Assert.False(await Store.ResolveAsync("inst-other", stored.Id, At, Cancel));
        var resolved = await Store.GetAsync("inst-c", stored.Id, Cancel);
        Assert.Equal(AgentDeadLetterStatus.Resolved, resolved!.Status);
        Assert.Equal(At.AddMinutes(1).AddTicks(-(At.UtcTicks % 10)), resolved.ResolvedAt);

        await Store.RecordAsync(DeadLetter("inst-c", "m1"), Cancel);
        var reopened = await Store.GetAsync("inst-c", stored.Id, Cancel);
        Assert.Equal((AgentDeadLetterStatus.Open, (DateTimeOffset?)null), (reopened!.Status, reopened.ResolvedAt));
    }

    [Fact]
    public async Task List_ManyRows_NewestFirstPagedByIdAndFilteredByStatus()
    {
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await Store.RecordAsync(DeadLetter("inst-d", "m" + i, at: At.AddSeconds(i)), Cancel)).Id);
        }

        await Store.RecordAsync(DeadLetter("inst-elsewhere", "m0"), Cancel);
        await Store.ResolveAsync("inst-d", ids[1], At, Cancel);

        var page1 = await Store.ListAsync("inst-d", null, null, 2, Cancel);
        var page2 = await Store.ListAsync("inst-d", null, page1[^1].Id, 2, Cancel);
        var page3 = await Store.ListAsync("inst-d", null, page2[^1].Id, 2, Cancel);
        Assert.Equal([ids[4], ids[3], ids[2], ids[1], ids[0]], [.. page1.Concat(page2).Concat(page3).Select(d => d.Id)]);
        Assert.Equal([ids[4], ids[3], ids[2], ids[0]], [.. (await Store.ListAsync("inst-d", AgentDeadLetterStatus.Open, null, 10, Cancel)).Select(d => d.Id)]);
        Assert.Equal([ids[1]], [.. (await Store.ListAsync("inst-d", AgentDeadLetterStatus.Resolved, null, 10, Cancel)).Select(d => d.Id)]);
    }
}
