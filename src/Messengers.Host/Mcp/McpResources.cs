using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// The six <c>whatsapp://</c> resources of wweb-mcp. With the admin key a URI names its instance with <c>?instance=ID</c>
/// (for example <c>whatsapp://chats?instance=ab12cd34ef56</c>); with an instance key the key's instance is used.
/// </summary>
public static class McpResources
{
    private const string Json = "application/json";
    private const int RecentMessages = 10;

    public static ValueTask<ListResourcesResult> ListAsync(RequestContext<ListResourcesRequestParams> context, CancellationToken ct)
        => ValueTask.FromResult(new ListResourcesResult
        {
            Resources =
            [
                new Resource { Name = "contacts", Uri = "whatsapp://contacts", MimeType = Json, Description = "Contacts of the account (people it exchanged private messages with). Admin key: add ?instance=ID." },
                new Resource { Name = "chats", Uri = "whatsapp://chats", MimeType = Json, Description = "Chats of the account, most recent first. Admin key: add ?instance=ID." },
                new Resource { Name = "groups", Uri = "whatsapp://groups", MimeType = Json, Description = "Group chats of the account. Admin key: add ?instance=ID." },
            ],
        });

    public static ValueTask<ListResourceTemplatesResult> ListTemplatesAsync(RequestContext<ListResourceTemplatesRequestParams> context, CancellationToken ct)
        => ValueTask.FromResult(new ListResourceTemplatesResult
        {
            ResourceTemplates =
            [
                new ResourceTemplate { Name = "messages", UriTemplate = "whatsapp://messages/{number}", MimeType = Json, Description = "The last 10 messages of a private chat. Admin key: add ?instance=ID." },
                new ResourceTemplate { Name = "search_groups", UriTemplate = "whatsapp://groups/search{?query}", MimeType = Json, Description = "Groups whose name or description contains the query. Admin key: add &instance=ID." },
                new ResourceTemplate { Name = "group_messages", UriTemplate = "whatsapp://groups/{groupId}/messages", MimeType = Json, Description = "The last 10 messages of a group chat. Admin key: add ?instance=ID." },
            ],
        });

    public static async ValueTask<ReadResourceResult> ReadAsync(RequestContext<ReadResourceRequestParams> context, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        var uriText = context.Params?.Uri ?? "";
        if (!Uri.TryCreate(uriText, UriKind.Absolute, out var uri) || uri.Scheme != "whatsapp")
        {
            throw new McpProtocolException($"Unknown resource '{uriText}': use whatsapp://contacts, whatsapp://chats, whatsapp://groups, whatsapp://messages/{{number}}, whatsapp://groups/search?query=… or whatsapp://groups/{{groupId}}/messages.", McpErrorCode.InvalidParams);
        }

        var services = context.Services ?? throw new McpException("No services for this request.");
        var kit = ActivatorUtilities.CreateInstance<McpToolKit>(services);
        var data = ActivatorUtilities.CreateInstance<McpData>(services);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(uri.Query);
        var instance = query.TryGetValue("instance", out var i) ? i.ToString() : "";
        var segments = (uri.Host + uri.AbsolutePath).Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();

        var (failure, read) = segments switch
        {
            ["contacts"] => ("Failed to fetch contacts", (Func<McpTarget, Task<object>>)(async t => await data.ContactsAsync(t, ct))),
            ["chats"] => ("Failed to fetch chats", async t => await data.ChatsAsync(t, ct)),
            ["groups"] => ("Failed to fetch groups", async t => await data.GroupsAsync(t, ct)),
            ["groups", "search"] => ("Failed to search groups", async t => await data.SearchGroupsAsync(t, query.TryGetValue("query", out var q) ? q.ToString() : "", ct)),
            ["messages", var number] => ("Failed to fetch messages", async t => await data.MessagesAsync(t, McpToolKit.ChatIdFor(t, number, group: false), RecentMessages, ct)),
            ["groups", var groupId, "messages"] => ("Failed to fetch group messages", async t => await data.MessagesAsync(t, McpToolKit.ChatIdFor(t, groupId, group: true), RecentMessages, ct)),
            _ => ((string?)null, (Func<McpTarget, Task<object>>?)null),
        };
        if (read is null)
        {
            throw new McpProtocolException($"Unknown resource '{uriText}'.", McpErrorCode.InvalidParams);
        }

        object value;
        try
        {
            value = await read(await kit.ResolveAsync(context, instance));
        }
        catch (McpToolException e)
        {
            throw new McpException($"{failure}: {e.Message}");
        }

        return new ReadResourceResult
        {
            Contents = [new TextResourceContents { Uri = uriText, MimeType = Json, Text = JsonSerializer.Serialize(value, McpToolKit.Json) }],
        };
    }
}
