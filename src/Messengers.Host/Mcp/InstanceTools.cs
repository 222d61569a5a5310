using System.ComponentModel;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Agents;
using Messengers.Host.Api;
using Microsoft.AspNetCore.Http.HttpResults;
using Messengers.Providers.Telegram;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// Instance management (list and create need the admin key; status, QR, start and stop also work with an instance key
/// on its own instance, as in the REST API) and Telegram sending with its options.
/// </summary>
[McpServerToolType]
public sealed class InstanceTools(McpToolKit kit, MessengerProviders providers, AgentBackends backends, IServiceProvider services)
{
    [McpServerTool(Name = "list_instances", ReadOnly = true), Description("Admin key only: list every messenger instance (connected account) with its id, name, provider and status. Use an id as the 'instance' argument of the other tools.")]
    public Task<CallToolResult> ListInstancesAsync(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken = default)
        => kit.RunAsync("listing instances", async () =>
        {
            McpToolKit.RequireAdmin(context);
            var ids = await kit.Grains.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).ListAsync();
            var infos = await Task.WhenAll(ids.Select(id => kit.Grains.GetGrain<IInstanceGrain>(id).GetAsync()));
            var items = infos.OfType<InstanceInfo>().OrderBy(i => i.CreatedAt)
                .Select(i => new { id = i.Id, name = i.Name, provider = i.Provider, status = i.Status.ToString(), desiredState = i.DesiredState.ToString(), account = i.Account?.Name ?? i.Account?.Id })
                .ToList();
            return McpToolKit.Text($"Found {items.Count} instances:\n{JsonSerializer.Serialize(items, McpToolKit.Json)}");
        });

    [McpServerTool(Name = "create_instance"), Description("Admin key only: create a messenger instance (provider 'webchat', 'telegram' with credentials {\"botToken\": \"…\"}, or another registered provider). Answers the new instance's id (its API key is not shown through MCP).")]
    public Task<CallToolResult> CreateInstanceAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("A display name for the instance")] string name,
        [Description("The messenger provider: 'webchat', 'telegram', … (the error lists the registered ones)")] string provider,
        [Description("Provider credentials as name → value, e.g. {\"botToken\": \"123:ABC…\"} for Telegram; empty for the web chat")] Dictionary<string, string>? credentials = null,
        [Description("Agent backend that answers incoming messages: 'echo' (default) or another registered backend")] string agentBackend = "echo",
        [Description("Start the connection right away")] bool start = true,
        CancellationToken cancellationToken = default)
        => kit.RunAsync("creating instance", async () =>
        {
            McpToolKit.RequireAdmin(context);
            var json = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>();
            var request = new CreateInstanceRequest(name, provider, credentials ?? [], [], new AgentSettings { Backend = string.IsNullOrWhiteSpace(agentBackend) ? "echo" : agentBackend }, null, start);
            var result = await InstancesApi.CreateAsync(request, kit.Grains, providers, backends, json);
            switch (result.Result)
            {
                case Created<System.Text.Json.Nodes.JsonObject> created:
                    var node = created.Value!;
                    // The new instance key is a secret and tool results end up in model transcripts: it is not shown here.
                    var text = $"Instance created. ID: {node["id"]}\nStatus: {node["status"]}\n"
                        + $"Use it with the admin key by passing instance={node["id"]}. Its own API key is not shown through MCP; an administrator gets one with POST /api/v1/instances/{node["id"]}/apikey.";
                    return McpToolKit.Text(text);
                case ValidationProblem problem:
                    var errors = string.Join("; ", problem.ProblemDetails.Errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
                    throw new McpToolException($"the instance is not valid — {errors}");
                default:
                    throw new McpToolException("the instance could not be created");
            }
        });

    [McpServerTool(Name = "get_instance_status", ReadOnly = true), Description("Get an instance's detailed status (Created, Starting, QrReady, Authenticated, Ready, Disconnected, Failed, Stopped), the reason, the account and message counters.")]
    public Task<CallToolResult> GetInstanceStatusAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(WhatsAppTools.InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting instance status", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            return McpToolKit.Text(JsonSerializer.Serialize(StatusOf(target.Instance), McpToolKit.Json));
        });

    [McpServerTool(Name = "get_qr_code", ReadOnly = true), Description("Get the pairing QR code of a QR-paired instance (WhatsApp) while its status is QrReady: the raw code text to render, and when it expires.")]
    public Task<CallToolResult> GetQrCodeAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(WhatsAppTools.InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("getting QR code", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.QrPairing, "QR pairing");
            var qr = await kit.Grains.GetGrain<IInstanceGrain>(target.Id).GetQrAsync()
                ?? throw new McpToolException($"no QR code now: status {target.Instance.Status}"
                    + (target.Instance.Status == InstanceStatus.Ready ? " — the instance is already paired" : " — start the instance and wait until its status is QrReady"));
            return McpToolKit.Text(JsonSerializer.Serialize(new { qr = qr.Code, expiresAt = McpToolKit.Iso(qr.ExpiresAt) }, McpToolKit.Json));
        });

    [McpServerTool(Name = "request_pairing_code"), Description("Pair a WhatsApp instance with a phone number instead of scanning the QR code: answers an 8-character code that the user enters on that phone (WhatsApp → Linked devices → Link with phone number). Works while the status is QrReady.")]
    public Task<CallToolResult> RequestPairingCodeAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("The phone number of the WhatsApp account in international form, e.g. +5511999990000")] string phoneNumber,
        [Description(WhatsAppTools.InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("requesting pairing code", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            McpToolKit.RequireCapability(target, ProviderCapabilities.QrPairing, "pairing by phone code");
            if (!PhoneNumbers.TryNormalizeE164(phoneNumber, out var phone))
            {
                throw new McpToolException($"'{phoneNumber}' is not an international (E.164) phone number: an optional '+' and 7 to 15 digits, the first not 0, e.g. +5511999990000");
            }

            var code = await kit.Grains.GetGrain<IInstanceGrain>(target.Id).RequestPairingCodeAsync(phone);
            return McpToolKit.Text($"Pairing code for +{phone}: {code}\nEnter it on that phone: WhatsApp → Linked devices → Link a device → Link with phone number instead. Then check get_instance_status until it is Ready.");
        });

    [McpServerTool(Name = "start_instance"), Description("Start (connect) an instance; it keeps running across restarts until stopped. Check progress with get_instance_status.")]
    public Task<CallToolResult> StartInstanceAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(WhatsAppTools.InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("starting instance", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var info = await kit.Grains.GetGrain<IInstanceGrain>(target.Id).StartAsync();
            return McpToolKit.Text($"Instance {info.Id} started. Status: {info.Status}");
        });

    [McpServerTool(Name = "stop_instance", Destructive = false), Description("Stop (disconnect) an instance without logging out; start_instance connects it again.")]
    public Task<CallToolResult> StopInstanceAsync(
        RequestContext<CallToolRequestParams> context,
        [Description(WhatsAppTools.InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("stopping instance", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            var info = await kit.Grains.GetGrain<IInstanceGrain>(target.Id).StopAsync();
            return McpToolKit.Text($"Instance {info.Id} stopped. Status: {info.Status}");
        });

    [McpServerTool(Name = "send_telegram_message"), Description("Send a text message through a Telegram bot instance, with Telegram formatting (HTML, Markdown or MarkdownV2), silent delivery, link preview and reply-to options.")]
    public Task<CallToolResult> SendTelegramMessageAsync(
        RequestContext<CallToolRequestParams> context,
        [Description("Telegram chat id (a number, negative for groups) or @channelusername")] string chatId,
        [Description("The message text")] string text,
        [Description("Formatting of the text: empty for plain text, 'HTML', 'Markdown' or 'MarkdownV2'")] string parseMode = "",
        [Description("Deliver without a notification sound")] bool silent = false,
        [Description("Show no preview of the first link in the text")] bool disableLinkPreview = false,
        [Description("Message id to reply to, as returned by get_messages; empty for none")] string replyToMessageId = "",
        [Description(WhatsAppTools.InstanceDescription)] string instance = "",
        CancellationToken cancellationToken = default)
        => kit.RunAsync("sending Telegram message", async () =>
        {
            var target = await kit.ResolveAsync(context, instance);
            if (!string.Equals(target.Instance.Provider, "telegram", StringComparison.OrdinalIgnoreCase))
            {
                throw new McpToolException($"instance '{target.Id}' is a '{target.Instance.Provider}' instance, not Telegram: use send_message");
            }

            var mode = TelegramSendOptions.NormalizeParseMode(parseMode)
                ?? throw new McpToolException($"parseMode '{parseMode}' is not one of HTML, Markdown, MarkdownV2 (or empty for plain text)");
            var options = new Dictionary<string, string>();
            if (mode.Length > 0)
            {
                options[TelegramSendOptions.ParseModeKey] = mode;
            }

            if (silent)
            {
                options[TelegramSendOptions.SilentKey] = "true";
            }

            if (disableLinkPreview)
            {
                options[TelegramSendOptions.DisableLinkPreviewKey] = "true";
            }

            var sent = await kit.SendAsync(target, new OutgoingMessage
            {
                ChatId = (chatId ?? "").Trim(),
                Text = text ?? "",
                ReplyToMessageId = string.IsNullOrWhiteSpace(replyToMessageId) ? null : replyToMessageId.Trim(),
                Options = options,
            });
            return McpToolKit.Text($"Message sent successfully to {chatId}. Message ID: {sent.MessageId}");
        });

    private static object StatusOf(InstanceInfo i) => new
    {
        id = i.Id,
        name = i.Name,
        provider = i.Provider,
        status = i.Status.ToString(),
        statusReason = i.StatusReason,
        statusChangedAt = McpToolKit.Iso(i.StatusChangedAt),
        desiredState = i.DesiredState.ToString(),
        account = i.Account is null ? null : new { id = i.Account.Id, name = i.Account.Name },
        capabilities = i.Capabilities,
        messagesIn = i.Counters.MessagesIn,
        messagesOut = i.Counters.MessagesOut,
    };
}
