using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// The 13 tools of wweb-mcp with its names, required parameters and result texts, on every provider that can do them.
/// Contacts, chats and group details come live from the messenger when it can list them (WhatsApp Web), else — and
/// history always — from our message store; groups are created and changed through the provider. Each tool also takes <c>instance</c>: required with
/// the admin key, empty (or the key's own instance) with an instance key.
/// </summary>
[McpServerToolType]
public sealed class WhatsAppTools(McpToolKit kit, McpData data, IMediaStore media, MediaDownloader downloader, IServiceProvider services)
{
    public const string InstanceDescription = "Instance id to act on. Required with the admin key; leave empty with an instance key (the key's own instance is used).";

    [McpServerTool(Name = "get_status", ReadOnly = true), Description("Get the connection status of the messenger account (WhatsApp, Telegram or web chat instance): connected or disconnected.")]
    public Task<CallToolResult> GetStatusAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting status", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var connected = target.Instance.Status == Abstractions.Instances.InstanceStatus.Ready;
            return McpToolKit.Text($"WhatsApp connection status: {(connected ? "connected" : "disconnected")}");
        });

    [McpServerTool(Name = "search_contacts", ReadOnly = true), Description("Search the account's contacts (people who exchanged private messages with it) by name or number.")]
    public Task<CallToolResult> SearchContactsAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("Search query to find contacts by name or number")] string query,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("searching contacts", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var contacts = await LiveContactsAsync(target, query) ?? await data.SearchContactsAsync(target, query, cancellationToken);
            return McpToolKit.Text($"Found {contacts.Count} contacts matching \"{query}\":\n{JsonSerializer.Serialize(contacts, McpToolKit.Json)}");
        });

    [McpServerTool(Name = "get_messages", ReadOnly = true), Description("Get the most recent messages of a private chat (both directions, oldest first), by phone number or chat id.")]
    public Task<CallToolResult> GetMessagesAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The phone number to get messages from")] string number,
        [Description("The number of messages to get (default: 10)")] int limit,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting messages", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.History, "message history");
            var messages = await data.MessagesAsync(target, McpToolKit.ChatIdFor(target, number, group: false), limit <= 0 ? 10 : limit, cancellationToken);
            return McpToolKit.Text($"Retrieved {messages.Count} messages from {number}:\n{JsonSerializer.Serialize(messages, McpToolKit.Json)}");
        });

    [McpServerTool(Name = "get_chats", ReadOnly = true), Description("List the account's chats, most recently active first, with the last message of each.")]
    public Task<CallToolResult> GetChatsAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting chats", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var chats = await LiveChatsAsync(target, cancellationToken) ?? await data.ChatsAsync(target, cancellationToken);
            return McpToolKit.Text($"Retrieved {chats.Count} chats:\n{JsonSerializer.Serialize(chats, McpToolKit.Json)}");
        });

    [McpServerTool(Name = "send_message"), Description("Send a text message to a person (private chat) by phone number or chat id. For groups use send_group_message; for Telegram formatting use send_telegram_message.")]
    public Task<CallToolResult> SendMessageAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The phone number to send the message to")] string number,
        [Description("The message content to send")] string message,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("sending message", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var sent = await kit.SendAsync(target, new OutgoingMessage { ChatId = McpToolKit.ChatIdFor(target, number, group: false), Text = message ?? "" });
            return McpToolKit.Text($"Message sent successfully to {number}. Message ID: {sent.MessageId}");
        });

    [McpServerTool(Name = "create_group"), Description("Create a new group chat with the given participants (only on messengers whose API allows creating groups).")]
    public Task<CallToolResult> CreateGroupAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The name of the group to create")] string name,
        [Description("Array of phone numbers to add to the group")] string[] participants,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("creating group", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Groups, "group chats");
            if (Api.MessageRules.GroupNameProblem(name) is { } nameProblem)
            {
                throw new McpToolException(nameProblem);
            }

            var ids = ParticipantIds(target, participants);
            McpToolKit.RequireReady(target);
            GroupCreated created;
            try
            {
                created = await ProviderClient(target).ExecuteAsync(new ProviderCommands.CreateGroup(name.Trim(), ids));
            }
            catch (CapabilityNotSupportedException)
            {
                throw new McpToolException($"creating groups is not supported by provider '{target.Instance.Provider}': its API cannot create groups; create the group in the messenger app and add this account to it");
            }

            return McpToolKit.Text($"Group created successfully. Group ID: {created.GroupId}" + (created.InviteCode is { Length: > 0 } code ? $"\nInvite code: {code}" : ""));
        });

    [McpServerTool(Name = "add_participants_to_group"), Description("Add participants to an existing group chat (only on messengers whose API allows it).")]
    public Task<CallToolResult> AddParticipantsToGroupAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The ID of the group to add participants to")] string groupId,
        [Description("Array of phone numbers to add to the group")] string[] participants,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("adding participants to group", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Groups, "group chats");
            var group = McpToolKit.ChatIdFor(target, groupId, group: true);
            var ids = ParticipantIds(target, participants);
            McpToolKit.RequireReady(target);
            IReadOnlyList<ParticipantResult> results;
            try
            {
                results = await ProviderClient(target).ExecuteAsync(new ProviderCommands.AddParticipants(group, ids));
            }
            catch (CapabilityNotSupportedException)
            {
                // wweb-mcp's answer when the messenger side cannot add participants.
                return McpToolKit.Error("Adding participants to groups is not supported with the current WhatsApp API configuration. This feature requires a newer version of whatsapp-web.js that has native support for adding participants.");
            }

            var failed = results.Where(r => !r.Ok).Select(r => new { number = McpToolKit.NumberOf(r.ParticipantId), reason = FailureReason(r) }).ToList();
            var text = $"Added {Count(results.Count(r => r.Ok))} participants to group {groupId}";
            return McpToolKit.Text(failed.Count == 0 ? text : $"{text}\nFailed to add {Count(failed.Count)} participants: {JsonSerializer.Serialize(failed, McpToolKit.CompactJson)}");
        });

    [McpServerTool(Name = "get_group_messages", ReadOnly = true), Description("Get the most recent messages of a group chat (oldest first).")]
    public Task<CallToolResult> GetGroupMessagesAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The ID of the group to get messages from")] string groupId,
        [Description("The number of messages to get (default: 10)")] int limit,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting group messages", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Groups, "group chats");
            var messages = await data.MessagesAsync(target, McpToolKit.ChatIdFor(target, groupId, group: true), limit <= 0 ? 10 : limit, cancellationToken);
            return McpToolKit.Text($"Retrieved {messages.Count} messages from group {groupId}:\n{JsonSerializer.Serialize(messages, McpToolKit.Json)}");
        });

    [McpServerTool(Name = "send_group_message"), Description("Send a text message to a group chat by its group id (find ids with search_groups or get_chats).")]
    public Task<CallToolResult> SendGroupMessageAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The ID of the group to send the message to")] string groupId,
        [Description("The message content to send")] string message,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("sending message to group", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Groups, "group chats");
            var sent = await kit.SendAsync(target, new OutgoingMessage { ChatId = McpToolKit.ChatIdFor(target, groupId, group: true), Text = message ?? "" });
            return McpToolKit.Text($"Message sent successfully to group {groupId}. Message ID: {sent.MessageId}");
        });

    [McpServerTool(Name = "search_groups", ReadOnly = true), Description("Search the group chats the account is in by name or description.")]
    public Task<CallToolResult> SearchGroupsAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("Search query to find groups by name, description, or member names")] string query,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("searching groups", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Groups, "group chats");
            var groups = await data.SearchGroupsAsync(target, query, cancellationToken);
            return McpToolKit.Text($"Found {groups.Count} groups matching \"{query}\":\n{JsonSerializer.Serialize(groups, McpToolKit.Json)}\n\nNote: Some group details like descriptions or complete participant lists may be limited due to API restrictions.");
        });

    [McpServerTool(Name = "get_group_by_id", ReadOnly = true), Description("Get one group chat's details by its group id.")]
    public Task<CallToolResult> GetGroupByIdAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The ID of the group to get")] string groupId,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting group by ID", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Groups, "group chats");
            var id = McpToolKit.ChatIdFor(target, groupId, group: true);
            var group = await LiveGroupAsync(target, id) ?? await data.GroupAsync(target, id, cancellationToken)
                ?? throw new McpToolException($"group '{groupId}' not found: find group ids with search_groups");
            return McpToolKit.Text(JsonSerializer.Serialize(group, McpToolKit.Json));
        });

    [McpServerTool(Name = "download_media_from_message"), Description("Save the media (image, document, audio…) attached to a received or sent message to a file on the server and return its path and type. Message ids come from get_messages.")]
    public Task<CallToolResult> DownloadMediaFromMessageAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The ID of the message containing the media")] string messageId,
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("downloading media", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var message = await data.MessageAsync(target, messageId ?? "", cancellationToken)
                ?? throw new McpToolException($"message '{messageId}' not found: use an id from get_messages");
            if (message.Media is null)
            {
                throw new McpToolException($"message '{messageId}' does not contain media");
            }

            var opened = await media.OpenAsync(target.Id, message.Media.MediaId, cancellationToken)
                ?? throw new McpToolException($"the media file of message '{messageId}' is no longer stored");
            var folder = Path.Combine(services.GetRequiredService<Hosting.MessengersOptions>().DataPath, "mcp-downloads", target.Id);
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, SafeFileName(messageId!) + "." + Extension(opened.Media.ContentType));
            await using (opened.Content)
            {
                await using var file = File.Create(path);
                await opened.Content.CopyToAsync(file, cancellationToken);
            }

            var result = new { filePath = path, mimetype = opened.Media.ContentType, filename = opened.Media.FileName ?? Path.GetFileName(path), filesize = opened.Media.Size, messageId };
            return McpToolKit.Text(JsonSerializer.Serialize(result, McpToolKit.Json));
        });

    [McpServerTool(Name = "send_media_message"), Description("Send an image to a person by phone number or chat id, from an http(s) URL (file:// paths only in stdio mode), with an optional caption.")]
    public Task<CallToolResult> SendMediaMessageAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The phone number to send the message to")] string number,
        [Description("The source of the media - URLs must use http:// or https:// prefixes, local files must use file:// prefix")] string source,
        [Description("Caption for the media")] string caption = "",
        [Description(InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("sending media message", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.Media, "sending media");
            McpToolKit.RequireReady(target);
            McpToolKit.RequireTextWithinLimit(caption); // before anything is downloaded or stored
            var (bytes, contentType, fileName) = await LoadAsync(source, context.Services?.GetService<McpFixedCaller>() is not null, cancellationToken);
            if (contentType is null || !contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            {
                throw new McpToolException($"only images can be sent this way; the source is '{contentType}'");
            }

            MediaRef stored;
            using (var content = new MemoryStream(bytes, writable: false))
            {
                stored = await media.SaveAsync(target.Id, content, contentType, fileName, cancellationToken);
            }

            var sent = await kit.SendAsync(target, new OutgoingMessage { ChatId = McpToolKit.ChatIdFor(target, number, group: false), Text = caption ?? "", Media = stored });
            var info = new { mimetype = contentType, filename = fileName ?? "unknown", size = ((bytes.Length + 2) / 3 * 4) };
            return McpToolKit.Text($"Media message sent successfully to {number}.\nMessage ID: {sent.MessageId}\nMedia Info:\n{JsonSerializer.Serialize(info, McpToolKit.Json)}");
        });

    /// <summary>The shared downloader's file; its refusals become the tool's error text. Local files and private addresses only for the stdio caller.</summary>
    private async Task<DownloadedMedia> LoadAsync(string source, bool localCaller, CancellationToken ct)
    {
        try
        {
            return await downloader.DownloadAsync(source, localCaller, ct);
        }
        catch (MediaDownloadException e)
        {
            throw new McpToolException(e.Message);
        }
    }

    private IProviderClientGrain ProviderClient(McpTarget target) => kit.Grains.GetGrain<IProviderClientGrain>(target.Id);

    /// <summary>Phone numbers (or ids) as the provider's participant ids; every one must be valid.</summary>
    private static List<string> ParticipantIds(McpTarget target, string[]? participants)
    {
        if (participants is null || participants.Length == 0)
        {
            throw new McpToolException("at least one participant phone number is required");
        }

        if (participants.Length > Api.MessageRules.MaxParticipants)
        {
            throw new McpToolException($"at most {Count(Api.MessageRules.MaxParticipants)} participants per call; split the list");
        }

        if (participants.FirstOrDefault(p => p is { Length: > Api.MessageRules.MaxParticipantLength }) is { } tooLong)
        {
            throw new McpToolException($"participant '{tooLong[..20]}…' is longer than {Count(Api.MessageRules.MaxParticipantLength)} characters: pass phone numbers in international format");
        }

        var ids = participants.Select(p => McpToolKit.ChatIdFor(target, p, group: false)).ToList();
        var invalid = ids.Where(id => !target.Provider.IsValidChatId(id)).ToList();
        return invalid.Count == 0
            ? ids
            : throw new McpToolException($"not valid phone numbers for provider '{target.Instance.Provider}': {string.Join(", ", invalid)} (use digits in international format, e.g. 5511999999999)");
    }

    private static string FailureReason(ParticipantResult result) => result.Code switch
    {
        403 => result.InviteCode is { Length: > 0 } code ? $"privacy settings require an invite (invite code {code})" : "privacy settings require an invite",
        404 => "not on WhatsApp",
        409 => "already a participant",
        _ => result.Message ?? $"refused with code {Count(result.Code)}",
    };

    /// <summary>Whether the messenger can be asked for its own lists now (else the store answers).</summary>
    private static bool CanAskMessenger(McpTarget target)
        => target.Instance.Status == InstanceStatus.Ready && target.Provider.Capabilities.HasFlag(ProviderCapabilities.Contacts);

    /// <summary>The address book as wweb-mcp shows it: people only, never the own account; the number is the phone number when known.</summary>
    private async Task<IReadOnlyList<McpContact>?> LiveContactsAsync(McpTarget target, string? query)
    {
        if (!CanAskMessenger(target))
        {
            return null;
        }

        IReadOnlyList<MessengerContact> contacts;
        try
        {
            contacts = await ProviderClient(target).ExecuteAsync(new ProviderCommands.GetContacts());
        }
        catch (Exception exception) when (exception is CapabilityNotSupportedException or InstanceNotReadyException)
        {
            return null;
        }

        var q = (query ?? "").Trim();
        return [.. contacts
            .Select(c => new McpContact(c.PushName ?? c.Name ?? "Unknown", McpToolKit.NumberOf(c.PhoneId ?? c.ContactId))) // wweb-mcp shows the pushname
            .Where(c => c.Name.Contains(q, StringComparison.OrdinalIgnoreCase) || c.Number.Contains(q, StringComparison.OrdinalIgnoreCase))];
    }

    /// <summary>The messenger's chats, with the last message body from our store where we have it.</summary>
    private async Task<IReadOnlyList<McpChat>?> LiveChatsAsync(McpTarget target, CancellationToken ct)
    {
        if (!CanAskMessenger(target))
        {
            return null;
        }

        IReadOnlyList<MessengerChat> chats;
        try
        {
            chats = await ProviderClient(target).ExecuteAsync(new ProviderCommands.GetChats(0));
        }
        catch (Exception exception) when (exception is CapabilityNotSupportedException or InstanceNotReadyException)
        {
            return null;
        }

        var stored = (await data.ChatsAsync(target, ct)).ToDictionary(c => c.Id, StringComparer.Ordinal);
        return [.. chats.Select(c => new McpChat(
            c.ChatId,
            c.Name ?? McpToolKit.NumberOf(c.ChatId),
            c.UnreadCount,
            c.LastMessageAt is { } at ? McpToolKit.Iso(at) : "",
            stored.TryGetValue(c.ChatId, out var known) ? known.LastMessage : ""))];
    }

    /// <summary>The group as the messenger knows it now (with participants and admins); null when it cannot say, so the store answers.</summary>
    private async Task<McpGroup?> LiveGroupAsync(McpTarget target, string groupId)
    {
        if (target.Instance.Status != InstanceStatus.Ready)
        {
            return null;
        }

        GroupInfo? info;
        try
        {
            info = await ProviderClient(target).ExecuteAsync(new ProviderCommands.GetGroup(groupId));
        }
        catch (Exception exception) when (exception is CapabilityNotSupportedException or InstanceNotReadyException)
        {
            return null;
        }

        if (info is null)
        {
            return null;
        }

        var name = info.Name ?? info.GroupId;
        return new McpGroup(
            info.GroupId,
            name,
            name, // wweb-mcp puts the subject in description
            [.. info.Participants.Select(p => new McpGroupParticipant(p.Id, McpToolKit.NumberOf(p.Id), null, p.IsAdmin))],
            McpToolKit.Iso(info.CreatedAt ?? services.GetRequiredService<TimeProvider>().GetUtcNow()));
    }

    private static string SafeFileName(string messageId)
        => string.Concat(messageId.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    private static string Extension(string contentType)
    {
        var slash = contentType.IndexOf('/', StringComparison.Ordinal);
        var sub = slash < 0 ? "" : contentType[(slash + 1)..].Split(';', '+')[0].Trim().ToLowerInvariant();
        return sub switch
        {
            "jpeg" => "jpeg",
            "" => "bin",
            _ when sub.All(char.IsAsciiLetterOrDigit) => sub,
            _ => "bin",
        };
    }

    internal static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
