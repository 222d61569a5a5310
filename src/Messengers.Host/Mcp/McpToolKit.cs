using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Host.Api;
using Messengers.Host.Hosting;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>A tool failure an agent can act on; becomes an isError result with the tool's error prefix.</summary>
public sealed class McpToolException : Exception
{
    public McpToolException() : base("The tool failed.") { }

    public McpToolException(string message) : base(message) { }

    public McpToolException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The instance a tool call works on, resolved from the caller and the <c>instance</c> argument.</summary>
public sealed record McpTarget(Caller Caller, InstanceInfo Instance, IMessengerProvider Provider)
{
    public string Id => Instance.Id;
}

/// <summary>Shared steps of the tools: who is calling, which instance, readiness checks, result texts.</summary>
public sealed class McpToolKit(IGrainFactory grains, MessengerProviders providers, ILogger<McpToolKit> logger)
{
    /// <summary>wweb-mcp pretty-prints with two spaces; timestamps are ISO strings.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonSerializerOptions CompactJson = new(Json) { WriteIndented = false };

    public IGrainFactory Grains => grains;

    public static Caller RequireCaller(MessageContext context)
        => McpCaller.Of(context) ?? throw new McpToolException("not authenticated: call the MCP endpoint with 'Authorization: Bearer <key>'");

    public static Caller RequireAdmin(MessageContext context)
    {
        var caller = RequireCaller(context);
        return caller.IsAdmin ? caller : throw new McpToolException("this tool needs the admin key; an instance key only reaches its own instance");
    }

    /// <summary>The instance id for this call: the instance key's own, or the <paramref name="instance"/> argument with the admin key.</summary>
    public static string InstanceIdFor(Caller caller, string? instance)
    {
        ArgumentNullException.ThrowIfNull(caller);
        instance = instance?.Trim();
        if (!caller.IsAdmin)
        {
            if (!string.IsNullOrEmpty(instance) && !string.Equals(instance, caller.InstanceId, StringComparison.Ordinal))
            {
                throw new McpToolException($"this key belongs to instance '{caller.InstanceId}' and cannot use instance '{instance}'; leave 'instance' empty");
            }

            return caller.InstanceId!;
        }

        if (string.IsNullOrEmpty(instance))
        {
            throw new McpToolException("the 'instance' argument is required with the admin key: pass an instance id (list them with list_instances)");
        }

        return instance;
    }

    public async Task<McpTarget> ResolveAsync(MessageContext context, string? instance)
    {
        var caller = RequireCaller(context);
        var id = InstanceIdFor(caller, instance);
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        if (info is null)
        {
            throw new McpToolException(caller.IsAdmin
                ? $"there is no instance '{id}': list the instances with list_instances"
                : $"instance '{id}' no longer exists");
        }

        return new McpTarget(caller, info, providers.Get(info.Provider));
    }

    /// <summary>Throws an actionable error unless the instance can send now.</summary>
    public static void RequireReady(McpTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var info = target.Instance;
        if (info.Status == InstanceStatus.Ready)
        {
            return;
        }

        var why = info.Status switch
        {
            InstanceStatus.Created => "it has never been started — start it with start_instance",
            InstanceStatus.Starting => "the connection is starting — try again in a few seconds",
            InstanceStatus.QrReady => "the QR code has not been scanned — fetch it with get_qr_code and scan it with the phone",
            InstanceStatus.Authenticated => "paired and still loading — try again in a few seconds",
            InstanceStatus.Disconnected => "the connection dropped and is reconnecting — try again shortly",
            InstanceStatus.Failed => "the connection failed — check the instance's credentials, then start_instance",
            InstanceStatus.Stopped => "it is stopped — start it with start_instance",
            _ => "it is not connected",
        };
        var reason = string.IsNullOrWhiteSpace(info.StatusReason) ? "" : $" (reason: {info.StatusReason})";
        throw new McpToolException($"instance not ready: status {info.Status} — {why}{reason}");
    }

    public static void RequireCapability(McpTarget target, ProviderCapabilities capability, string what)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!target.Provider.Capabilities.HasFlag(capability))
        {
            throw new McpToolException($"{what} is not supported by provider '{target.Instance.Provider}' (instance '{target.Id}')");
        }
    }

    /// <summary>A phone number or chat id as the provider names chats: WhatsApp adds <c>@c.us</c> / <c>@g.us</c>.</summary>
    public static string ChatIdFor(McpTarget target, string number, bool group)
    {
        ArgumentNullException.ThrowIfNull(target);
        var id = (number ?? "").Trim();
        if (id.Length == 0)
        {
            throw new McpToolException(group ? "a groupId is required" : "a phone number or chat id is required");
        }

        if (target.Instance.Provider.StartsWith("whatsapp", StringComparison.OrdinalIgnoreCase) && !id.Contains('@', StringComparison.Ordinal))
        {
            id = id.TrimStart('+').Replace(" ", "", StringComparison.Ordinal) + (group ? "@g.us" : "@c.us");
        }

        return id;
    }

    /// <summary>The number shown for a chat or contact id: WhatsApp ids lose their server part.</summary>
    public static string NumberOf(string chatId)
    {
        ArgumentNullException.ThrowIfNull(chatId);
        return chatId.EndsWith("@c.us", StringComparison.Ordinal) ? chatId[..^"@c.us".Length] : chatId;
    }

    public async Task<ChatMessage> SendAsync(McpTarget target, OutgoingMessage message)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(message);
        RequireReady(target);
        if (!target.Provider.IsValidChatId(message.ChatId))
        {
            throw new McpToolException($"'{message.ChatId}' is not a valid chat id for provider '{target.Instance.Provider}'");
        }

        if (string.IsNullOrEmpty(message.Text) && message.Media is null)
        {
            throw new McpToolException("the message text is empty");
        }

        RequireTextWithinLimit(message.Text);

        return await grains.GetGrain<IChatSessionGrain>(ChatKey.For(target.Id, message.ChatId)).SendAsync(message);
    }

    /// <summary>The REST API's text limit (<see cref="MessageRules"/>), so a tool cannot send what the API would refuse.</summary>
    public static void RequireTextWithinLimit(string? text)
    {
        if (MessageRules.TextProblem(text) is { } problem)
        {
            throw new McpToolException($"{problem} Shorten it or send it as several messages.");
        }
    }

    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static McpMessage MessageOf(ChatMessage m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new McpMessage(m.MessageId, m.Body, m.IsFromMe, Iso(m.Timestamp), !m.IsFromMe && m.From is not null ? NumberOf(m.From) : null, m.Type);
    }

    public static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    public static CallToolResult Error(string text) => new() { Content = [new TextContentBlock { Text = text }], IsError = true };

    /// <summary>Runs a tool body; failures become <c>isError</c> results "Error ⟨doing⟩: Error: ⟨message⟩" as wweb-mcp words them.</summary>
    public async Task<CallToolResult> RunAsync(string doing, Func<Task<CallToolResult>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return await body();
        }
        catch (McpToolException e)
        {
            return Error($"Error {doing}: Error: {e.Message}");
        }
        catch (InstanceNotReadyException e)
        {
            return Error($"Error {doing}: Error: instance not ready: {e.Message}");
        }
        catch (CapabilityNotSupportedException e)
        {
            return Error($"Error {doing}: Error: {e.Message}");
        }
        catch (InstanceNotFoundException e)
        {
            return Error($"Error {doing}: Error: {e.Message}");
        }
        catch (TimeoutException)
        {
            return Error($"Error {doing}: Error: the operation timed out; it may still complete — check before retrying");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "MCP tool failed while {Doing}", doing);
            return Error($"Error {doing}: Error: {SafeMessage(e)}");
        }
    }

    /// <summary>Provider errors are worded for callers already; anything unexpected is not echoed (it may carry internals).</summary>
    private static string SafeMessage(Exception e) => e switch
    {
        HttpRequestException => "the messenger could not be reached; try again shortly",
        ArgumentException or InvalidOperationException or NotSupportedException or KeyNotFoundException => e.Message,
        _ when e.GetType().Namespace?.StartsWith("Messengers.", StringComparison.Ordinal) == true => e.Message,
        _ => "an unexpected error occurred; it was logged on the server",
    };
}

public sealed record McpMessage(string Id, string Body, bool FromMe, string Timestamp, string? Contact, string Type);

public sealed record McpChat(string Id, string Name, int UnreadCount, string Timestamp, string LastMessage);

public sealed record McpContact(string Name, string Number);

public sealed record McpGroupParticipant(string Id, string Number, string? Name, bool IsAdmin);

public sealed record McpGroup(string Id, string Name, string Description, IReadOnlyList<McpGroupParticipant> Participants, string CreatedAt);
