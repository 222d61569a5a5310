using Messengers.Abstractions.Messages;

namespace Messengers.Host.Mcp;

/// <summary>Chats, contacts, groups and history of one instance, read from our message store in wweb-mcp's shapes.</summary>
public sealed class McpData(IMessageStore store, TimeProvider time)
{
    private const int ScanLimit = 1000;

    public async Task<IReadOnlyList<McpMessage>> MessagesAsync(McpTarget target, string chatId, int limit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(target);
        var messages = await store.GetMessagesAsync(target.Id, chatId, Math.Clamp(limit, 1, 500), null, ct);
        return [.. messages.Reverse().Select(McpToolKit.MessageOf)]; // oldest first, as wweb-mcp lists them
    }

    public async Task<IReadOnlyList<McpChat>> ChatsAsync(McpTarget target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(target);
        var chats = await store.GetChatsAsync(target.Id, ScanLimit, 0, ct);
        return [.. chats.Select(c => new McpChat(c.ChatId, c.Name ?? McpToolKit.NumberOf(c.ChatId), 0, McpToolKit.Iso(c.LastMessageAt), c.LastMessageBody ?? ""))];
    }

    public async Task<IReadOnlyList<McpContact>> ContactsAsync(McpTarget target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(target);
        var contacts = await store.GetContactsAsync(target.Id, ScanLimit, 0, ct);
        return [.. contacts.Select(c => new McpContact(string.IsNullOrWhiteSpace(c.Name) ? "Unknown" : c.Name, McpToolKit.NumberOf(c.ContactId)))];
    }

    public async Task<IReadOnlyList<McpContact>> SearchContactsAsync(McpTarget target, string query, CancellationToken ct)
    {
        var q = (query ?? "").Trim();
        return [.. (await ContactsAsync(target, ct)).Where(c => c.Name.Contains(q, StringComparison.OrdinalIgnoreCase) || c.Number.Contains(q, StringComparison.OrdinalIgnoreCase))];
    }

    public async Task<IReadOnlyList<McpGroup>> GroupsAsync(McpTarget target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(target);
        var chats = await store.GetChatsAsync(target.Id, ScanLimit, 0, ct);
        var now = McpToolKit.Iso(time.GetUtcNow());
        return [.. chats.Where(c => c.IsGroup).Select(c =>
        {
            var name = c.Name ?? c.ChatId;
            return new McpGroup(c.ChatId, name, name, [], now); // wweb-mcp puts the subject in description; participants are not stored
        })];
    }

    public async Task<IReadOnlyList<McpGroup>> SearchGroupsAsync(McpTarget target, string query, CancellationToken ct)
    {
        var q = (query ?? "").Trim();
        return [.. (await GroupsAsync(target, ct)).Where(g => g.Name.Contains(q, StringComparison.OrdinalIgnoreCase) || g.Description.Contains(q, StringComparison.OrdinalIgnoreCase))];
    }

    public async Task<McpGroup?> GroupAsync(McpTarget target, string groupId, CancellationToken ct)
        => (await GroupsAsync(target, ct)).FirstOrDefault(g => string.Equals(g.Id, groupId, StringComparison.Ordinal));

    public Task<ChatMessage?> MessageAsync(McpTarget target, string messageId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(target);
        return store.GetAsync(target.Id, messageId, ct);
    }
}
