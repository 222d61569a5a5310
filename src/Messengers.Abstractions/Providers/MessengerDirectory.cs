using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Providers;

/// <summary>A chat as the messenger lists it (not only the chats we have stored messages of).</summary>
[GenerateSerializer, Immutable, Alias("messengers.MessengerChat")]
public sealed record MessengerChat(string ChatId, string? Name, bool IsGroup, int UnreadCount, DateTimeOffset? LastMessageAt);

/// <summary>
/// A contact of the account. WhatsApp names a person by phone number (<c>…@c.us</c>) and, more and more, by an opaque
/// <c>…@lid</c> id; both are kept when the messenger knows both, so messages from either id can be matched.
/// </summary>
[GenerateSerializer, Immutable, Alias("messengers.MessengerContact")]
public sealed record MessengerContact
{
    /// <summary>The id the messenger lists the contact under.</summary>
    [Id(0)] public required string ContactId { get; init; }

    /// <summary>The phone-number id (<c>5511…@c.us</c>) when known.</summary>
    [Id(1)] public string? PhoneId { get; init; }

    /// <summary>The <c>…@lid</c> id when known.</summary>
    [Id(2)] public string? LidId { get; init; }

    /// <summary>The name saved in the address book.</summary>
    [Id(3)] public string? Name { get; init; }

    /// <summary>The name the person gave themselves.</summary>
    [Id(4)] public string? PushName { get; init; }

    /// <summary>Saved in the account's address book (not just someone who wrote).</summary>
    [Id(5)] public bool IsMyContact { get; init; }
}

[GenerateSerializer, Immutable, Alias("messengers.GroupParticipant")]
public sealed record GroupParticipant(string Id, bool IsAdmin, bool IsSuperAdmin);

[GenerateSerializer, Immutable, Alias("messengers.GroupInfo")]
public sealed record GroupInfo
{
    [Id(0)] public required string GroupId { get; init; }
    [Id(1)] public string? Name { get; init; }
    [Id(2)] public string? Description { get; init; }
    [Id(3)] public string? Owner { get; init; }
    [Id(4)] public DateTimeOffset? CreatedAt { get; init; }
    [Id(5)] public IReadOnlyList<GroupParticipant> Participants { get; init; } = [];
}

/// <summary>What happened to one participant of an add/remove/create: <see cref="Code"/> follows WhatsApp (200 done, 403 invite needed, 409 already there, 404 unknown).</summary>
[GenerateSerializer, Immutable, Alias("messengers.ParticipantResult")]
public sealed record ParticipantResult(string ParticipantId, bool Ok, int Code, string? Message = null, string? InviteCode = null);

[GenerateSerializer, Immutable, Alias("messengers.GroupCreated")]
public sealed record GroupCreated(string GroupId, IReadOnlyList<ParticipantResult> Participants, string? InviteCode = null);

/// <summary>Older messages fetched from the messenger: how many came back and how many were new to our store.</summary>
[GenerateSerializer, Immutable, Alias("messengers.HistoryFetched")]
public sealed record HistoryFetched(string ChatId, int Fetched, int Stored, IReadOnlyList<string> MessageIds);

/// <summary>
/// The messenger refused a directory request (unknown message, not a group admin, …); the message says why.
/// <see cref="NotFound"/> marks "no such message, chat or group".
/// </summary>
[GenerateSerializer, Alias("messengers.MessengerRequestException")]
public sealed class MessengerRequestException : Exception
{
    public MessengerRequestException() { }
    public MessengerRequestException(string message) : base(message) { }
    public MessengerRequestException(string message, Exception inner) : base(message, inner) { }
    public MessengerRequestException(string message, bool notFound, Exception? inner = null) : base(message, inner) => NotFound = notFound;

    /// <summary>Kept across the grain boundary: the API answers 404 for it, 422 otherwise.</summary>
    [Id(0)]
    public bool NotFound { get; private set; }
}
