using System.Collections.Concurrent;
using Messengers.Providers.Telegram;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Messengers.Testing;
using Messengers.Testing.Fakes.Telegram;

namespace Messengers.Providers.Tests.Telegram;

public sealed class TelegramSendQueueTests : TelegramFakeTestBase
{
    private static readonly TelegramSendQueueOptions Fast = new()
    {
        PrivateChatLimit = RateLimit.PerSecond(1000),
        GroupChatLimit = RateLimit.PerSecond(1000),
        BotLimit = RateLimit.PerSecond(1000),
    };

    [Fact]
    public async Task SendQueue_ManyMessagesToOneChat_KeepsOrder()
    {
        Fake.AddChat(Token, 111);
        await using var queue = new TelegramSendQueue(Fast);

        var sends = Enumerable.Range(0, 30)
            .Select(i => queue.EnqueueAsync(111, ct => Client.SendMessage(111, $"m{i:00}", cancellationToken: ct), Ct))
            .ToArray();
        var messages = await Task.WhenAll(sends);

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"m{i:00}"), Fake.GetSentMessages(Token, 111).Select(m => m.Text));
        Assert.Equal(messages.Select(m => m.MessageId).Order(), messages.Select(m => m.MessageId));
        Assert.Equal(0, queue.PendingCount);
    }

    [Fact]
    public async Task SendQueue_429Storm_LosesAndDuplicatesNothing()
    {
        long[] chats = [111, 222, -100333];
        foreach (var chat in chats)
        {
            Fake.AddChat(Token, chat, chat < 0 ? "supergroup" : "private");
        }

        Fake.FloodEveryNthCall(Token, 3, retryAfterSeconds: 2);
        var clock = new SteppingClock();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        var sends = new List<Task<Message>>();
        for (var i = 0; i < 10; i++)
        {
            foreach (var chat in chats)
            {
                var text = $"{chat}:{i}";
                sends.Add(queue.EnqueueAsync(chat, ct => Client.SendMessage(chat, text, cancellationToken: ct), Ct));
            }
        }

        await DriveAsync(clock, Task.WhenAll(sends));

        foreach (var chat in chats)
        {
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{chat}:{i}"), Fake.GetSentMessages(Token, chat).Select(m => m.Text));
        }

        var floods = Fake.GetCalls(Token).Count(c => c.StatusCode == 429);
        Assert.True(floods >= 10, $"expected a storm, got {floods} 429s");
        Assert.Equal(30 + floods, Fake.CallCount(Token, "sendMessage"));
        Assert.All(sends, s => Assert.True(s.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task SendQueue_AgainstFakeFloodControl_NeverHits429()
    {
        var clock = new SteppingClock();
        await using var fake = await FakeTelegramServer.StartAsync(clock, cancellationToken: Ct);
        fake.AddBot(Token);
        fake.AddChat(Token, 111);
        fake.AddChat(Token, -100222, "supergroup", "Team");
        fake.EnforceRateLimits(Token);
        var client = NewClient(Token, fake.BaseUrl);
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        // The clock only moves while no request is in flight, so the fake sees each send at its dispatch time.
        var inFlight = 0;
        Task<Message> Send(long chat, string text) => queue.EnqueueAsync(chat, async ct =>
        {
            Interlocked.Increment(ref inFlight);
            try
            {
                return await client.SendMessage(chat, text, cancellationToken: ct);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }, Ct);

        var sends = new List<Task<Message>>();
        for (var i = 0; i < 25; i++)
        {
            sends.Add(Send(-100222, $"g{i:00}"));
            if (i < 6)
            {
                sends.Add(Send(111, $"p{i}"));
            }
        }

        await DriveAsync(clock, Task.WhenAll(sends), () => Volatile.Read(ref inFlight) > 0);

        Assert.DoesNotContain(fake.GetCalls(Token), c => c.StatusCode == 429);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"p{i}"), fake.GetSentMessages(Token, 111).Select(m => m.Text));
        var group = fake.GetSentMessages(Token, -100222);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"g{i:00}"), group.Select(m => m.Text));
        for (var i = 20; i < group.Count; i++)
        {
            Assert.True(group[i].At - group[i - 20].At >= TimeSpan.FromMinutes(1));
        }
    }

    [Fact]
    public async Task FakeServer_RateLimitsEnforced_Answers429WithRetryAfter()
    {
        Fake.AddChat(Token, 111);
        Fake.EnforceRateLimits(Token);

        for (var i = 0; i < Fake.PrivateChatBurst; i++)
        {
            await Client.SendMessage(111, $"burst {i}", cancellationToken: Ct);
        }

        var ex = await Assert.ThrowsAsync<ApiRequestException>(() => Client.SendMessage(111, "one too many", cancellationToken: Ct));
        Assert.Equal(429, ex.ErrorCode);
        Assert.Equal(1, ex.Parameters?.RetryAfter);
        Assert.Equal(Fake.PrivateChatBurst, Fake.GetSentMessages(Token, 111).Count);
    }

    [Fact]
    public async Task SendQueue_ServerErrors_RetriedThenDelivered()
    {
        Fake.AddChat(Token, 111);
        Fake.FailNextCalls(Token, 2, 500);
        var clock = new SteppingClock();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        var send = queue.EnqueueAsync(111, ct => Client.SendMessage(111, "once", cancellationToken: ct), Ct);
        await DriveAsync(clock, send);

        Assert.Equal("once", Assert.Single(Fake.GetSentMessages(Token, 111)).Text);
        Assert.Equal(3, Fake.CallCount(Token, "sendMessage"));
    }

    [Fact]
    public async Task SendQueue_NonRetryable400_FailsOnlyThatSend()
    {
        Fake.AddChat(Token, 111);
        await using var queue = new TelegramSendQueue(Fast);

        var lost = queue.EnqueueAsync(999, ct => Client.SendMessage(999, "nobody", cancellationToken: ct), Ct);
        var empty = queue.EnqueueAsync(111, ct => Client.SendMessage(111, " ", cancellationToken: ct), Ct);
        var fine = queue.EnqueueAsync(111, ct => Client.SendMessage(111, "after", cancellationToken: ct), Ct);

        var notFound = await Assert.ThrowsAsync<ApiRequestException>(() => lost);
        var emptyText = await Assert.ThrowsAsync<ApiRequestException>(() => empty);
        Assert.Equal("after", (await fine).Text);
        Assert.Equal("Bad Request: chat not found", notFound.Message);
        Assert.Equal("Bad Request: message text is empty", emptyText.Message);
        Assert.Equal(3, Fake.CallCount(Token, "sendMessage"));
    }

    [Fact]
    public async Task SendQueue_PrivateChat_AtMostOnePerSecond()
    {
        var clock = new SteppingClock();
        var times = new ConcurrentQueue<DateTimeOffset>();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        var sends = Enumerable.Range(0, 5).Select(i => queue.EnqueueAsync(111, _ => Record(clock, times, 111), Ct)).ToArray();
        await DriveAsync(clock, Task.WhenAll(sends));

        var t = times.ToArray();
        Assert.Equal(5, t.Length);
        for (var i = 1; i < t.Length; i++)
        {
            Assert.True(t[i] - t[i - 1] >= TimeSpan.FromSeconds(1), $"send {i} came {(t[i] - t[i - 1]).TotalMilliseconds} ms after the previous");
        }

        Assert.True(t[^1] - t[0] < TimeSpan.FromSeconds(6), "pacing should not be much slower than the limit");
    }

    [Fact]
    public async Task SendQueue_GroupChat_AtMostTwentyPerMinute()
    {
        var clock = new SteppingClock();
        var times = new ConcurrentQueue<DateTimeOffset>();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        var sends = Enumerable.Range(0, 25).Select(_ => queue.EnqueueAsync(-100777, _ => Record(clock, times, -100777), Ct)).ToArray();
        await DriveAsync(clock, Task.WhenAll(sends));

        var t = times.ToArray();
        Assert.Equal(25, t.Length);
        for (var i = 20; i < t.Length; i++)
        {
            Assert.True(t[i] - t[i - 20] >= TimeSpan.FromMinutes(1), $"sends {i - 20}..{i} fit in {(t[i] - t[i - 20]).TotalSeconds} s");
        }
    }

    [Fact]
    public async Task SendQueue_ManyChats_BotLimitCapsThroughput()
    {
        var clock = new SteppingClock();
        var times = new ConcurrentQueue<DateTimeOffset>();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        var sends = Enumerable.Range(1, 70).Select(chat => queue.EnqueueAsync(chat, _ => Record(clock, times, chat), Ct)).ToArray();
        await DriveAsync(clock, Task.WhenAll(sends));

        var t = times.OrderBy(x => x).ToArray();
        Assert.Equal(70, t.Length);
        for (var i = 30; i < t.Length; i++)
        {
            Assert.True(t[i] - t[i - 30] >= TimeSpan.FromSeconds(1), $"31 sends within {(t[i] - t[i - 30]).TotalMilliseconds} ms");
        }
    }

    [Fact]
    public async Task SendQueue_FloodWaitInOneChat_PausesOnlyThatChat()
    {
        var clock = new SteppingClock();
        var start = clock.GetUtcNow();
        var attempts = new ConcurrentQueue<(long Chat, DateTimeOffset At)>();
        var flooded = 0;
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        Task<Message> Send(long chat) => queue.EnqueueAsync(chat, _ =>
        {
            attempts.Enqueue((chat, clock.GetUtcNow()));
            if (chat == 111 && Interlocked.Increment(ref flooded) == 1)
            {
                throw new ApiRequestException("Too Many Requests: retry after 5", 429, new ResponseParameters { RetryAfter = 5 });
            }

            return Task.FromResult(new Message { Id = attempts.Count, Chat = new Chat { Id = chat } });
        }, Ct);

        var paused = Send(111);
        var other = Send(222);
        await DriveAsync(clock, Task.WhenAll(paused, other));

        var a = attempts.ToArray();
        Assert.Equal(2, a.Count(x => x.Chat == 111));
        Assert.True(a.Last(x => x.Chat == 111).At - start >= TimeSpan.FromSeconds(5));
        Assert.True(a.Single(x => x.Chat == 222).At - start < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task SendQueue_FloodWaitInTwoChats_PausesWholeBot()
    {
        var clock = new SteppingClock();
        var start = clock.GetUtcNow();
        var attempts = new ConcurrentQueue<(long Chat, DateTimeOffset At)>();
        var floodedChats = new ConcurrentDictionary<long, bool>();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);

        Task<Message> Send(long chat) => queue.EnqueueAsync(chat, _ =>
        {
            attempts.Enqueue((chat, clock.GetUtcNow()));
            if (chat != 333 && floodedChats.TryAdd(chat, true))
            {
                throw new ApiRequestException("Too Many Requests: retry after 3", 429, new ResponseParameters { RetryAfter = 3 });
            }

            return Task.FromResult(new Message { Chat = new Chat { Id = chat } });
        }, Ct);

        var first = Send(111);
        var second = Send(222);
        await WaitUntilAsync(() => attempts.Count == 2); // both hit 429 at the start; the clock stands still
        var third = Send(333);
        await DriveAsync(clock, Task.WhenAll(first, second, third));

        Assert.True(attempts.Single(x => x.Chat == 333).At - start >= TimeSpan.FromSeconds(3), "an unflooded chat waits out the bot-wide pause");
        Assert.Equal(4, attempts.Count(x => x.Chat != 333));
    }

    [Fact]
    public async Task SendQueue_CancelledWhileWaiting_CancelsOnlyThatSend()
    {
        var clock = new SteppingClock();
        var sent = new ConcurrentQueue<int>();
        await using var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);
        using var cancel = new CancellationTokenSource();

        var first = queue.EnqueueAsync(111, _ => { sent.Enqueue(1); return Task.FromResult(new Message()); }, Ct);
        var second = queue.EnqueueAsync(111, _ => { sent.Enqueue(2); return Task.FromResult(new Message()); }, cancel.Token);
        var third = queue.EnqueueAsync(111, _ => { sent.Enqueue(3); return Task.FromResult(new Message()); }, Ct);
        await first;
        await cancel.CancelAsync();
        await DriveAsync(clock, third);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal([1, 3], sent);
    }

    [Fact]
    public async Task SendQueue_Disposed_FailsWaitingSends()
    {
        var clock = new SteppingClock();
        var queue = new TelegramSendQueue(new TelegramSendQueueOptions(), clock);
        var first = queue.EnqueueAsync(111, _ => Task.FromResult(new Message()), Ct);
        await first;
        var waiting = queue.EnqueueAsync(111, _ => Task.FromResult(new Message()), Ct);

        await queue.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        Assert.Throws<ObjectDisposedException>(() => { _ = queue.EnqueueAsync(111, _ => Task.FromResult(new Message()), Ct); });
    }

    private static Task<Message> Record(SteppingClock clock, ConcurrentQueue<DateTimeOffset> times, long chat)
    {
        times.Enqueue(clock.GetUtcNow());
        return Task.FromResult(new Message { Chat = new Chat { Id = chat } });
    }

    /// <summary>
    /// Runs the fake clock until <paramref name="until"/> completes: whenever the queue is parked on a timer (and
    /// <paramref name="busy"/>, e.g. an HTTP call in flight, is false), jumps to the next due time.
    /// </summary>
    private static async Task DriveAsync(SteppingClock clock, Task until, Func<bool>? busy = null)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!until.IsCompleted)
        {
            await Task.WhenAny(until, Task.Delay(1, Ct));
            limit.Token.ThrowIfCancellationRequested();
            if (until.IsCompleted || busy?.Invoke() == true)
            {
                continue;
            }

            clock.AdvanceToNextTimer();
        }

        await until;
    }
}
