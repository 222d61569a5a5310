using Messengers.Runtime;

namespace Messengers.Abstractions.Instances;

/// <summary>Where an instance's connection stands.</summary>
public enum InstanceStatus
{
    Created,
    Starting,
    QrReady,
    Authenticated,
    Ready,
    Disconnected,
    Failed,
    Stopped,
}

/// <summary>What the owner asked for; survives restarts.</summary>
public enum DesiredState
{
    Stopped,
    Running,
}

/// <summary>Which agent answers the instance's chats.</summary>
[GenerateSerializer, Alias("messengers.AgentSettings")]
public sealed record AgentSettings
{
    public string Backend { get; init; } = "echo";
    public string? AgentId { get; init; }
    public bool Enabled { get; init; } = true;
    public string? BaseUrl { get; init; }
    public string? Shape { get; init; }
    public string? Model { get; init; }
    public string? SystemPrompt { get; init; }
    public bool Stream { get; init; }
    public string? UserId { get; init; }
    public int TimeoutSeconds { get; init; } = 60;

    /// <summary>Answer group chats.</summary>
    public bool AnswerGroups { get; init; }

    /// <summary>Answer private (one-to-one) chats.</summary>
    public bool AnswerPrivate { get; init; } = true;

    /// <summary>When not empty, only these chat ids are answered (still subject to the private/group switches).</summary>
    public IReadOnlyList<string> AllowChats { get; init; } = [];

    /// <summary>Chat ids never answered, whatever the other settings say.</summary>
    public IReadOnlyList<string> DenyChats { get; init; } = [];

    /// <summary>Messages a user sends within this many seconds of each other go to the agent as one; 0 = off.</summary>
    public int DebounceSeconds { get; init; }

    /// <summary>A message that is exactly this (sent by the operator from the account itself) pauses the agent in that chat.</summary>
    public string PauseKeyword { get; init; } = "#human";

    /// <summary>A message that is exactly this resumes the agent in that chat.</summary>
    public string ResumeKeyword { get; init; } = "#bot";
}

/// <summary>Visitor-side settings of web-chat instances.</summary>
[GenerateSerializer, Alias("messengers.WebChatSettings")]
public sealed record WebChatSettings
{
    public bool Enabled { get; init; } = true;

    /// <summary>Origins allowed to post (CORS and Origin check); empty allows any.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Messages one visitor may send per minute.</summary>
    public int MessagesPerMinute { get; init; } = 30;
}

/// <summary>What <c>POST /instances</c> creates.</summary>
[GenerateSerializer, Alias("messengers.InstanceDefinition")]
public sealed record InstanceDefinition
{
    public required string Name { get; init; }
    public required string Provider { get; init; }
    public IReadOnlyDictionary<string, string> Credentials { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    public AgentSettings Agent { get; init; } = new();
    public WebChatSettings? WebChat { get; init; }
    public bool Start { get; init; } = true;
}

/// <summary>A partial update; null members stay as they are.</summary>
[GenerateSerializer, Alias("messengers.InstancePatch")]
public sealed record InstancePatch
{
    public string? Name { get; init; }
    public IReadOnlyDictionary<string, string>? Credentials { get; init; }
    public IReadOnlyDictionary<string, string>? Settings { get; init; }
    public AgentSettings? Agent { get; init; }
    public WebChatSettings? WebChat { get; init; }
}

[GenerateSerializer, Alias("messengers.InstanceCounters")]
public sealed record InstanceCounters(long MessagesIn, long MessagesOut);

[GenerateSerializer, Alias("messengers.AccountInfo")]
public sealed record AccountInfo(string Id, string? Name);

/// <summary>The public view of an instance: never carries credentials or key hashes.</summary>
[GenerateSerializer, Alias("messengers.InstanceInfo")]
public sealed record InstanceInfo
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Provider { get; init; }
    public InstanceStatus Status { get; init; }
    public string? StatusReason { get; init; }
    public DesiredState DesiredState { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset StatusChangedAt { get; init; }
    public required AgentSettings Agent { get; init; }
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    public InstanceCounters Counters { get; init; } = new(0, 0);
    public AccountInfo? Account { get; init; }
    public WebChatSettings? WebChat { get; init; }
    public IReadOnlyList<string> CredentialNames { get; init; } = [];
}

/// <summary>The pairing code of a QR-paired provider and when it stops being valid.</summary>
[GenerateSerializer, Alias("messengers.QrCodeInfo")]
public sealed record QrCodeInfo(string Code, DateTimeOffset ExpiresAt);

/// <summary>What a provider connection needs to run: decrypted credentials and settings.</summary>
[GenerateSerializer, Alias("messengers.ConnectionConfig")]
public sealed record ConnectionConfig(
    string InstanceId,
    string Provider,
    IReadOnlyDictionary<string, string> Credentials,
    IReadOnlyDictionary<string, string> Settings,
    AgentSettings Agent);
