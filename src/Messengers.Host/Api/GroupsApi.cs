using System.Globalization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Host.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messengers.Host.Api;

public sealed record CreateGroupRequest(string? Name, IReadOnlyList<string>? Participants);

public sealed record ParticipantsRequest(IReadOnlyList<string>? Participants);

public sealed record ReactionRequest(string? Emoji, string? ChatId);

public sealed record HistoryRequest(int? Count, string? Before);

/// <summary>A list with where it came from: <c>messenger</c> (asked live) or <c>store</c> (what passed through this gateway).</summary>
public sealed record DirectoryPage<T>(IReadOnlyList<T> Items, string? Next, string Source);

/// <summary>
/// Groups, reactions, contacts, chats and history on demand under <c>/api/v1/instances/{id}</c>, answered per the
/// provider's capabilities ("not supported by this provider" → 422). Sending to a group is the normal
/// <c>POST /messages</c> with the group's chat id.
/// </summary>
public static class GroupsApi
{
    public const string SourceMessenger = "messenger";
    public const string SourceStore = "store";
    private const int MaxHistory = 500;

    public static RouteGroupBuilder MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/instances/{id}").WithTags("Groups and directory").RequireInstanceAccess();
        api.MapPost("/groups", CreateGroupAsync);
        api.MapGet("/groups/{groupId}", GetGroupAsync);
        api.MapPost("/groups/{groupId}/participants/add", (string id, string groupId, ParticipantsRequest request, IGrainFactory grains, MessengerProviders providers)
            => ChangeParticipantsAsync(id, groupId, request, add: true, grains, providers));
        api.MapPost("/groups/{groupId}/participants/remove", (string id, string groupId, ParticipantsRequest request, IGrainFactory grains, MessengerProviders providers)
            => ChangeParticipantsAsync(id, groupId, request, add: false, grains, providers));
        api.MapPost("/groups/{groupId}/leave", LeaveGroupAsync);
        api.MapPost("/messages/{messageId}/reaction", ReactAsync);
        api.MapGet("/chats", ListChatsAsync);
        api.MapGet("/contacts", ListContactsAsync);
        api.MapGet("/contacts/{contactId}", GetContactAsync);
        api.MapPost("/chats/{chatId}/history", FetchHistoryAsync);
        return api;
    }

    public static async Task<IResult> CreateGroupAsync(string id, CreateGroupRequest request, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.Groups, "groups");
        if (info is null)
        {
            return problem!;
        }

        var errors = new Dictionary<string, string[]>();
        if (MessageRules.GroupNameProblem(request.Name) is { } nameProblem)
        {
            errors["name"] = [nameProblem];
        }

        ValidateParticipants(request.Participants, provider!, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The group is not valid.");
        }

        var created = await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.CreateGroup(request.Name!.Trim(), request.Participants!));
        return TypedResults.Created($"/api/v1/instances/{id}/groups/{Uri.EscapeDataString(created.GroupId)}", created);
    }

    public static async Task<IResult> GetGroupAsync(string id, string groupId, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, provider, problem) = await FindGroupAsync(id, groupId, grains, providers);
        if (info is null)
        {
            return problem!;
        }

        var group = await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.GetGroup(groupId));
        return group is null
            ? TypedResults.Problem(title: "Not found", detail: $"There is no group '{groupId}' in this account.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(group);
    }

    public static async Task<IResult> ChangeParticipantsAsync(string id, string groupId, ParticipantsRequest request, bool add, IGrainFactory grains, MessengerProviders providers)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (info, provider, problem) = await FindGroupAsync(id, groupId, grains, providers);
        if (info is null)
        {
            return problem!;
        }

        var errors = new Dictionary<string, string[]>();
        ValidateParticipants(request.Participants, provider!, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The participants are not valid.");
        }

        var client = grains.GetGrain<IProviderClientGrain>(id);
        var results = add
            ? await client.ExecuteAsync(new ProviderCommands.AddParticipants(groupId, request.Participants!))
            : await client.ExecuteAsync(new ProviderCommands.RemoveParticipants(groupId, request.Participants!));
        return TypedResults.Ok(new { groupId, results });
    }

    public static async Task<IResult> LeaveGroupAsync(string id, string groupId, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, provider, problem) = await FindGroupAsync(id, groupId, grains, providers);
        if (info is null)
        {
            return problem!;
        }

        await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.LeaveGroup(groupId));
        return TypedResults.NoContent();
    }

    /// <summary>Reacts to a message; the chat comes from the stored message when the body does not name it.</summary>
    public static async Task<IResult> ReactAsync(string id, string messageId, ReactionRequest request, IGrainFactory grains, MessengerProviders providers, IMessageStore store)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.Reactions, "reactions");
        if (info is null)
        {
            return problem!;
        }

        var errors = new Dictionary<string, string[]>();
        if (messageId.Length > 200)
        {
            errors["messageId"] = ["The message id is longer than 200 characters."];
        }

        var emoji = request.Emoji ?? "";
        if (emoji.Length > 0 && (emoji.Length > 32 || new StringInfo(emoji).LengthInTextElements != 1 || emoji.Any(char.IsWhiteSpace) || emoji.All(char.IsAscii)))
        {
            errors["emoji"] = ["The emoji must be one emoji, or empty to remove the reaction."];
        }

        if (request.ChatId is { } given && !provider!.IsValidChatId(given))
        {
            errors["chatId"] = [$"'{given}' is not a valid chat id for provider '{info.Provider}'."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The reaction is not valid.");
        }

        var chatId = request.ChatId ?? (await store.GetAsync(id, messageId))?.ChatId;
        if (chatId is null)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["chatId"] = [$"Message '{messageId}' is not stored here; pass the chatId of the message."] },
                title: "The reaction is not valid.");
        }

        await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.React(chatId, messageId, emoji));
        return TypedResults.Ok(new { messageId, chatId, emoji });
    }

    /// <summary>
    /// The messenger's chats when it can list them (<c>source=messenger</c> insists), else the chats stored here
    /// (<c>source=store</c> asks for those).
    /// </summary>
    public static async Task<IResult> ListChatsAsync(string id, int? limit, int? offset, string? source, IGrainFactory grains, MessengerProviders providers, IMessageStore store)
    {
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.None, "");
        if (info is null)
        {
            return problem!;
        }

        var size = Math.Clamp(limit ?? 50, 1, 500);
        var skip = Math.Max(0, offset ?? 0);
        var fromMessenger = await AskMessengerAsync(info, provider!, source, () => grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.GetChats(size + skip)));
        return fromMessenger switch
        {
            { Problem: { } sourceProblem } => sourceProblem,
            { Items: { } chats } => TypedResults.Ok(new DirectoryPage<MessengerChat>([.. chats.Skip(skip).Take(size)], null, SourceMessenger)),
            _ => TypedResults.Ok(new DirectoryPage<ChatSummary>(await store.GetChatsAsync(id, size, skip), null, SourceStore)),
        };
    }

    public static async Task<IResult> ListContactsAsync(string id, int? limit, int? offset, string? source, IGrainFactory grains, MessengerProviders providers, IMessageStore store)
    {
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.None, "");
        if (info is null)
        {
            return problem!;
        }

        var size = Math.Clamp(limit ?? 100, 1, 1000);
        var skip = Math.Max(0, offset ?? 0);
        var fromMessenger = await AskMessengerAsync(info, provider!, source, () => grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.GetContacts()));
        return fromMessenger switch
        {
            { Problem: { } sourceProblem } => sourceProblem,
            { Items: { } contacts } => TypedResults.Ok(new DirectoryPage<MessengerContact>([.. contacts.Skip(skip).Take(size)], null, SourceMessenger)),
            _ => TypedResults.Ok(new DirectoryPage<ContactSummary>(await store.GetContactsAsync(id, size, skip), null, SourceStore)),
        };
    }

    public static async Task<IResult> GetContactAsync(string id, string contactId, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.Contacts, "contacts");
        if (info is null)
        {
            return problem!;
        }

        if (!MessageRules.IsParticipant(contactId, provider!))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["contactId"] = [$"'{contactId}' is neither a phone number nor a valid contact id for provider '{info.Provider}'."] });
        }

        var contact = await grains.GetGrain<IProviderClientGrain>(id).ExecuteAsync(new ProviderCommands.GetContact(contactId));
        return contact is null
            ? TypedResults.Problem(title: "Not found", detail: $"The messenger does not know contact '{contactId}'.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(contact);
    }

    /// <summary>Fetches older messages of a chat from the messenger into the store; list them with <c>GET …/chats/{chatId}/messages</c>.</summary>
    public static async Task<IResult> FetchHistoryAsync(string id, string chatId, HistoryRequest? request, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.History, "message history");
        if (info is null)
        {
            return problem!;
        }

        if (InvalidChatId(provider!, info, chatId, "chatId") is { } invalid)
        {
            return invalid;
        }

        var count = request?.Count ?? 50;
        if (count is < 1 or > MaxHistory)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["count"] = [$"count must be between 1 and {MaxHistory}."] });
        }

        var fetched = await grains.GetGrain<IProviderClientGrain>(id).FetchHistoryAsync(chatId, count, string.IsNullOrWhiteSpace(request?.Before) ? null : request.Before);
        return TypedResults.Ok(fetched);
    }

    private sealed record MessengerAnswer<T>(IReadOnlyList<T>? Items, IResult? Problem);

    /// <summary>Asks the messenger unless the caller wants the store; without <c>source=messenger</c> a provider that cannot answer now falls back to the store.</summary>
    private static async Task<MessengerAnswer<T>> AskMessengerAsync<T>(InstanceInfo info, IMessengerProvider provider, string? source, Func<Task<IReadOnlyList<T>>> ask)
    {
        switch (source)
        {
            case null or "":
                if (!provider.Capabilities.HasFlag(ProviderCapabilities.Contacts) || info.Status != InstanceStatus.Ready)
                {
                    return new(null, null);
                }

                try
                {
                    return new(await ask(), null);
                }
                catch (CapabilityNotSupportedException)
                {
                    return new(null, null); // declares contacts from its store (Telegram bots cannot list chats)
                }

            case SourceStore:
                return new(null, null);
            case SourceMessenger:
                return provider.Capabilities.HasFlag(ProviderCapabilities.Contacts)
                    ? new(await ask(), null)
                    : new(null, MessagesApi.NotSupported(info, "listing chats and contacts from the messenger"));
            default:
                return new(null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["source"] = [$"source must be '{SourceMessenger}' or '{SourceStore}'."] }));
        }
    }

    private static async Task<(InstanceInfo? Info, IMessengerProvider? Provider, IResult? Problem)> FindAsync(string id, IGrainFactory grains, MessengerProviders providers, ProviderCapabilities needed, string what)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        if (info is null)
        {
            return (null, null, InstanceProblems.NotFound(id));
        }

        var provider = providers.Get(info.Provider);
        return needed != ProviderCapabilities.None && !provider.Capabilities.HasFlag(needed)
            ? (null, provider, MessagesApi.NotSupported(info, what))
            : (info, provider, null);
    }

    /// <summary>The instance for a route on one of its groups: groups supported and <paramref name="groupId"/> well-formed.</summary>
    private static async Task<(InstanceInfo? Info, IMessengerProvider? Provider, IResult? Problem)> FindGroupAsync(string id, string groupId, IGrainFactory grains, MessengerProviders providers)
    {
        var (info, provider, problem) = await FindAsync(id, grains, providers, ProviderCapabilities.Groups, "groups");
        return info is not null && InvalidChatId(provider!, info, groupId, "groupId") is { } invalid ? (null, provider, invalid) : (info, provider, problem);
    }

    private static ValidationProblem? InvalidChatId(IMessengerProvider provider, InstanceInfo info, string chatId, string field)
        => provider.IsValidChatId(chatId) ? null : TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [$"'{chatId}' is not a valid chat id for provider '{info.Provider}'."] });

    private static void ValidateParticipants(IReadOnlyList<string>? participants, IMessengerProvider provider, Dictionary<string, string[]> errors)
    {
        if (MessageRules.ParticipantsProblem(participants, provider) is { } problem)
        {
            errors["participants"] = [problem];
        }
    }
}
