using System.Text.Json;
using Messengers.Abstractions.Providers;
using Microsoft.Playwright;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>Reactions, chats, contacts, groups and history on demand, through wa-js in the Ready page.</summary>
public sealed partial class WhatsAppWebConnection
{
    private const int MaxHistoryCount = 500;

    public async Task ReactAsync(string chatId, string messageId, string emoji, CancellationToken cancellationToken)
        => await EvaluateAsync(DirectoryScripts.React, new object[] { messageId, emoji ?? "" });

    public async Task<IReadOnlyList<MessengerChat>> GetChatsAsync(int limit, CancellationToken cancellationToken)
    {
        var chats = await EvaluateAsync(DirectoryScripts.Chats, limit);
        return [.. chats.EnumerateArray().Select(c => new MessengerChat(
            Str(c, "id") ?? "",
            Str(c, "name"),
            Bool(c, "isGroup"),
            c.TryGetProperty("unread", out var unread) && unread.ValueKind == JsonValueKind.Number ? unread.GetInt32() : 0,
            Seconds(c, "t")))];
    }

    public async Task<IReadOnlyList<MessengerContact>> GetContactsAsync(CancellationToken cancellationToken)
    {
        var contacts = await EvaluateAsync(DirectoryScripts.Contacts);
        return [.. contacts.EnumerateArray().Select(ToContact)];
    }

    public async Task<MessengerContact?> GetContactAsync(string contactId, CancellationToken cancellationToken)
    {
        var contact = await EvaluateAsync(DirectoryScripts.Contact, UserId(contactId));
        return contact.ValueKind == JsonValueKind.Object ? ToContact(contact) : null;
    }

    public async Task<GroupCreated> CreateGroupAsync(string name, IReadOnlyList<string> participants, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participants);
        var created = await EvaluateAsync(DirectoryScripts.CreateGroup, new object[] { name, participants.Select(UserId).ToArray() });
        var groupId = Str(created, "gid") ?? throw new InvalidOperationException("WhatsApp Web did not return the new group's id.");
        return new GroupCreated(groupId, ToParticipantResults(created.GetProperty("participants")));
    }

    public async Task<GroupInfo?> GetGroupAsync(string groupId, CancellationToken cancellationToken)
    {
        var group = await EvaluateAsync(DirectoryScripts.GroupInfo, groupId);
        if (group.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return new GroupInfo
        {
            GroupId = Str(group, "id") ?? groupId,
            Name = Str(group, "subject"),
            Description = Str(group, "desc"),
            Owner = Str(group, "owner"),
            CreatedAt = Seconds(group, "creation"),
            Participants = [.. group.GetProperty("participants").EnumerateArray().Select(p => new GroupParticipant(Str(p, "id") ?? "", Bool(p, "isAdmin"), Bool(p, "isSuperAdmin")))],
        };
    }

    public Task<IReadOnlyList<ParticipantResult>> AddParticipantsAsync(string groupId, IReadOnlyList<string> participants, CancellationToken cancellationToken)
        => ChangeParticipantsAsync(DirectoryScripts.AddParticipants, groupId, participants);

    public Task<IReadOnlyList<ParticipantResult>> RemoveParticipantsAsync(string groupId, IReadOnlyList<string> participants, CancellationToken cancellationToken)
        => ChangeParticipantsAsync(DirectoryScripts.RemoveParticipants, groupId, participants);

    public async Task LeaveGroupAsync(string groupId, CancellationToken cancellationToken)
        => await EvaluateAsync(DirectoryScripts.LeaveGroup, groupId);

    public async Task<IReadOnlyList<InboundMessage>> FetchHistoryAsync(string chatId, int count, string? beforeMessageId, CancellationToken cancellationToken)
    {
        var messages = await EvaluateAsync(DirectoryScripts.History, new object?[] { chatId, Math.Clamp(count, 1, MaxHistoryCount), beforeMessageId });
        return [.. messages.EnumerateArray()
            .Select(m => ToInbound(m, includeOwn: true))
            .OfType<InboundMessage>()
            .Select(m => m with { ChatId = chatId })];
    }

    /// <summary>Runs a directory script in the Ready page; a refusal by wa-js (a thrown WPPError) becomes <see cref="MessengerRequestException"/>.</summary>
    private async Task<JsonElement> EvaluateAsync(string script, object? argument = null)
    {
        var page = ReadyPage();
        try
        {
            return await page.EvaluateAsync<JsonElement>(script, argument);
        }
        catch (PlaywrightException exception) when (!page.IsClosed)
        {
            var message = exception.Message.Split('\n', 2)[0].Trim();
            if (message.StartsWith("Error: ", StringComparison.Ordinal))
            {
                message = message["Error: ".Length..];
            }

            var notFound = message.Contains("not_found", StringComparison.OrdinalIgnoreCase) || message.Contains("not found", StringComparison.OrdinalIgnoreCase);
            throw new MessengerRequestException($"WhatsApp Web refused the request: {message}", notFound, exception);
        }
        catch (PlaywrightException exception)
        {
            throw new InstanceNotReadyException($"WhatsApp Web is not ready: the page closed ({exception.Message.Split('\n', 2)[0]}).", exception);
        }
    }

    private async Task<IReadOnlyList<ParticipantResult>> ChangeParticipantsAsync(string script, string groupId, IReadOnlyList<string> participants)
    {
        ArgumentNullException.ThrowIfNull(participants);
        var results = await EvaluateAsync(script, new object[] { groupId, participants.Select(UserId).ToArray() });
        return ToParticipantResults(results);
    }

    private static IReadOnlyList<ParticipantResult> ToParticipantResults(JsonElement results)
        => [.. results.EnumerateArray().Select(r =>
        {
            var code = r.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 0;
            return new ParticipantResult(Str(r, "id") ?? "", code == 200, code, Str(r, "message"), Str(r, "invite"));
        })];

    private static MessengerContact ToContact(JsonElement c) => new()
    {
        ContactId = Str(c, "id") ?? "",
        PhoneId = Str(c, "phone"),
        LidId = Str(c, "lid"),
        Name = Str(c, "name"),
        PushName = Str(c, "pushname"),
        IsMyContact = Bool(c, "isMyContact"),
    };

    /// <summary>A bare phone number ("+55 11 9…") becomes the user id WhatsApp expects ("5511…@c.us").</summary>
    private static string UserId(string numberOrId)
    {
        var id = numberOrId.Trim();
        return id.Contains('@', StringComparison.Ordinal)
            ? id
            : string.Concat(id.Where(char.IsAsciiDigit)) + "@c.us";
    }

    private static bool Bool(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static DateTimeOffset? Seconds(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.GetInt64() > 0
            ? DateTimeOffset.FromUnixTimeSeconds(value.GetInt64())
            : null;
}
