using System.Text.Json.Nodes;

namespace Messengers.Testing.Fakes.Telegram;

/// <summary>State the fake keeps per bot token. Every field is guarded by <see cref="Gate"/>.</summary>
internal sealed class FakeTelegramBot(string token, long id, string username, string firstName)
{
    public Lock Gate { get; } = new();

    public string Token { get; } = token;

    public long Id { get; } = id;

    public string Username { get; } = username;

    public string FirstName { get; } = firstName;

    public bool Revoked { get; set; }

    // updates
    public List<JsonObject> Pending { get; } = [];

    /// <summary>How often getUpdates handed out each update id.</summary>
    public Dictionary<long, int> Deliveries { get; } = [];

    public long NextUpdateId { get; set; } = 700_000_001;

    public TaskCompletionSource UpdatesChanged { get; set; } = NewSignal();

    public FakePoll? ActivePoll { get; set; }

    /// <summary>getUpdates requests being handled now; more than one means two pollers drive the bot at once.</summary>
    public int PollsInFlight { get; set; }

    /// <summary>The most getUpdates requests handled at once so far.</summary>
    public int MaxPollsInFlight { get; set; }

    /// <summary>The last <c>allowed_updates</c> given to getUpdates or setWebhook; null = default.</summary>
    public string[]? AllowedUpdates { get; set; }

    // webhook
    public string WebhookUrl { get; set; } = "";

    public string? WebhookSecret { get; set; }

    public int? WebhookMaxConnections { get; set; }

    public long? WebhookLastErrorDate { get; set; }

    public string? WebhookLastErrorMessage { get; set; }

    public CancellationTokenSource? WebhookStop { get; set; }

    public Task? WebhookLoop { get; set; }

    public List<FakeWebhookAttempt> WebhookAttempts { get; } = [];

    // chats and files
    public Dictionary<long, FakeChat> Chats { get; } = [];

    public Dictionary<string, FakeStoredFile> FilesById { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, FakeStoredFile> FilesByPath { get; } = new(StringComparer.Ordinal);

    public int FileCounter { get; set; }

    // observation and faults
    public Dictionary<string, int> CallCounts { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<FakeApiCall> Calls { get; } = [];

    public List<FakeSentMessage> Sent { get; } = [];

    public int FloodEveryNth { get; set; }

    public int FloodCounter { get; set; }

    public DateTimeOffset FloodUntil { get; set; } = DateTimeOffset.MinValue;

    public int FloodRetryAfter { get; set; } = 1;

    public HashSet<string>? FloodMethods { get; set; }

    public bool EnforceLimits { get; set; }

    public TimeSpan ResponseDelay { get; set; }

    public Queue<DateTimeOffset> RecentSends { get; } = new();

    public int FailRemaining { get; set; }

    public int FailStatus { get; set; } = 500;

    public HashSet<string>? FailMethods { get; set; }

    public JsonObject UserJson() => new()
    {
        ["id"] = Id,
        ["is_bot"] = true,
        ["first_name"] = FirstName,
        ["username"] = Username,
    };

    public void SignalUpdates()
    {
        var old = UpdatesChanged;
        UpdatesChanged = NewSignal();
        old.TrySetResult();
    }

    public static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A parked getUpdates request; completing <see cref="Conflict"/> ends it with a 409.</summary>
internal sealed class FakePoll
{
    public TaskCompletionSource<string> Conflict { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed class FakeChat(long id, string type)
{
    public long Id { get; } = id;

    public string Type { get; set; } = type;

    public string? Title { get; set; }

    public string? Username { get; set; }

    public string? FirstName { get; set; }

    public string? LastName { get; set; }

    public bool BotBlocked { get; set; }

    /// <summary>Set when the group was upgraded to this supergroup.</summary>
    public long? MigratedTo { get; set; }

    public Queue<DateTimeOffset> RecentSends { get; } = new();

    /// <summary>Private-chat token bucket for the fake's flood control; starts full.</summary>
    public double SendTokens { get; set; } = 3;

    public DateTimeOffset TokensAt { get; set; } = DateTimeOffset.MinValue;

    public long NextMessageId { get; set; } = 1;

    /// <summary>Every live message in the chat by id (user and bot), for replies, edits and deletes.</summary>
    public Dictionary<long, JsonObject> Messages { get; } = [];

    public HashSet<long> BotMessageIds { get; } = [];

    public List<string> Actions { get; } = [];

    public Dictionary<long, string> Reactions { get; } = [];

    /// <summary>Users' current reactions by (message id, user id), for the old_reaction of the next change.</summary>
    public Dictionary<(long MessageId, long UserId), string[]> UserReactions { get; } = [];

    public List<(FakeUser User, string Status)> Administrators { get; } = [];

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["id"] = Id };
        if (Title is not null)
        {
            json["title"] = Title;
        }

        if (Username is not null)
        {
            json["username"] = Username;
        }

        if (FirstName is not null)
        {
            json["first_name"] = FirstName;
        }

        if (LastName is not null)
        {
            json["last_name"] = LastName;
        }

        json["type"] = Type;
        return json;
    }
}

internal sealed record FakeStoredFile(
    string FileId,
    string FileUniqueId,
    string Kind,
    string Path,
    byte[] Content,
    string? FileName,
    string? MimeType,
    string? SourceUrl);
