using Orleans;
using Orleans.Concurrency;

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
[GenerateSerializer, Immutable, Alias("messengers.AgentSettings")]
public sealed record AgentSettings
{
    [Id(0)] public string Backend { get; init; } = "echo";
    [Id(1)] public string? AgentId { get; init; }
    [Id(2)] public bool Enabled { get; init; } = true;
    [Id(3)] public string? BaseUrl { get; init; }
    [Id(4)] public string? Shape { get; init; }
    [Id(5)] public string? Model { get; init; }
    [Id(6)] public string? SystemPrompt { get; init; }
    [Id(7)] public bool Stream { get; init; }
    [Id(8)] public string? UserId { get; init; }
    [Id(9)] public int TimeoutSeconds { get; init; } = 60;

    /// <summary>Answer group chats.</summary>
    [Id(10)] public bool AnswerGroups { get; init; }

    /// <summary>Answer private (one-to-one) chats.</summary>
    [Id(11)] public bool AnswerPrivate { get; init; } = true;

    /// <summary>When not empty, only these chat ids are answered (still subject to the private/group switches).</summary>
    [Id(12)] public IReadOnlyList<string> AllowChats { get; init; } = [];

    /// <summary>Chat ids never answered, whatever the other settings say.</summary>
    [Id(13)] public IReadOnlyList<string> DenyChats { get; init; } = [];

    /// <summary>Messages a user sends within this many seconds of each other go to the agent as one; 0 = off.</summary>
    [Id(14)] public int DebounceSeconds { get; init; }

    /// <summary>A message that is exactly this (sent by the operator from the account itself) pauses the agent in that chat.</summary>
    [Id(15)] public string PauseKeyword { get; init; } = "#human";

    /// <summary>A message that is exactly this resumes the agent in that chat.</summary>
    [Id(16)] public string ResumeKeyword { get; init; } = "#bot";
}

/// <summary>Visitor-side settings of web-chat instances.</summary>
[GenerateSerializer, Immutable, Alias("messengers.WebChatSettings")]
public sealed record WebChatSettings
{
    [Id(0)] public bool Enabled { get; init; } = true;

    /// <summary>Origins allowed to post (CORS and Origin check); empty allows any.</summary>
    [Id(1)] public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Messages one visitor may send per minute.</summary>
    [Id(2)] public int MessagesPerMinute { get; init; } = 30;
}

/// <summary>What <c>POST /instances</c> creates.</summary>
[GenerateSerializer, Immutable, Alias("messengers.InstanceDefinition")]
public sealed record InstanceDefinition
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required string Provider { get; init; }
    [Id(2)] public IReadOnlyDictionary<string, string> Credentials { get; init; } = new Dictionary<string, string>();
    [Id(3)] public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    [Id(4)] public AgentSettings Agent { get; init; } = new();
    [Id(5)] public WebChatSettings? WebChat { get; init; }
    [Id(6)] public bool Start { get; init; } = true;
}

/// <summary>A partial update; null members stay as they are.</summary>
[GenerateSerializer, Immutable, Alias("messengers.InstancePatch")]
public sealed record InstancePatch
{
    [Id(0)] public string? Name { get; init; }
    [Id(1)] public IReadOnlyDictionary<string, string>? Credentials { get; init; }
    [Id(2)] public IReadOnlyDictionary<string, string>? Settings { get; init; }
    [Id(3)] public AgentSettings? Agent { get; init; }
    [Id(4)] public WebChatSettings? WebChat { get; init; }
}

[GenerateSerializer, Immutable, Alias("messengers.InstanceCounters")]
public sealed record InstanceCounters(long MessagesIn, long MessagesOut);

[GenerateSerializer, Immutable, Alias("messengers.AccountInfo")]
public sealed record AccountInfo(string Id, string? Name);

/// <summary>The public view of an instance: never carries credentials or key hashes.</summary>
[GenerateSerializer, Immutable, Alias("messengers.InstanceInfo")]
public sealed record InstanceInfo
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required string Provider { get; init; }
    [Id(3)] public InstanceStatus Status { get; init; }
    [Id(4)] public string? StatusReason { get; init; }
    [Id(5)] public DesiredState DesiredState { get; init; }
    [Id(6)] public DateTimeOffset CreatedAt { get; init; }
    [Id(7)] public DateTimeOffset UpdatedAt { get; init; }
    [Id(8)] public DateTimeOffset StatusChangedAt { get; init; }
    [Id(9)] public required AgentSettings Agent { get; init; }
    [Id(10)] public IReadOnlyList<string> Capabilities { get; init; } = [];
    [Id(11)] public InstanceCounters Counters { get; init; } = new(0, 0);
    [Id(12)] public AccountInfo? Account { get; init; }
    [Id(13)] public WebChatSettings? WebChat { get; init; }
    [Id(14)] public IReadOnlyList<string> CredentialNames { get; init; } = [];
}

/// <summary>The pairing code of a QR-paired provider and when it stops being valid.</summary>
[GenerateSerializer, Immutable, Alias("messengers.QrCodeInfo")]
public sealed record QrCodeInfo(string Code, DateTimeOffset ExpiresAt);

/// <summary>What a provider connection needs to run: decrypted credentials and settings.</summary>
[GenerateSerializer, Immutable, Alias("messengers.ConnectionConfig")]
public sealed record ConnectionConfig(
    string InstanceId,
    string Provider,
    IReadOnlyDictionary<string, string> Credentials,
    IReadOnlyDictionary<string, string> Settings,
    AgentSettings Agent);

/// <summary>What an instance's agent needs to answer: the provider (for its text limit), the agent settings and the agent's key.</summary>
[GenerateSerializer, Immutable, Alias("messengers.AgentConfig")]
public sealed record AgentConfig(string InstanceId, string Provider, AgentSettings Agent, string? AgentApiKey)
{
    /// <summary>The instance credential holding the agent's key (sent as <c>Authorization: Bearer …</c>), whatever the provider.</summary>
    public const string ApiKeyCredential = "agentApiKey";
}
