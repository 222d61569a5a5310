using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;

using Messengers.Data.Webhooks;

namespace Messengers.Webhooks;

/// <summary>
/// One event about an instance: what happened, to which message or status, and its deterministic id. The id depends
/// only on what the event is about (see <see cref="EventId"/>), so the same stream entry delivered twice gives the
/// same id and the outbox's unique key drops the second copy.
/// </summary>
public sealed record WebhookEvent(string Id, string Type, string InstanceId, DateTimeOffset Timestamp)
{
    public ChatMessage? Message { get; init; }

    public InstanceInfo? Instance { get; init; }

    /// <summary>Extra data of events raised by other parts (agent.failed); shown under <c>data</c>.</summary>
    public IReadOnlyDictionary<string, string?>? Details { get; init; }

    /// <summary>
    /// <c>evt_</c> + the first 32 hex digits of SHA-256 over "instance \n subject \n type", where subject is
    /// <c>msg:{messageId}</c> (with <c>:{ack}</c> for message.ack) or <c>status:{status}:{statusChangedAt ticks}</c>.
    /// </summary>
    public static string EventId(string instanceId, string subject, string type)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(type);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{instanceId}\n{subject}\n{type}"));
        return "evt_" + Convert.ToHexStringLower(hash)[..32];
    }

    /// <summary>
    /// The events of an entry of the inbound stream: message.received (own messages echoed by the provider: message.sent);
    /// a reaction is message.reaction instead, so that subscribers of messages do not take an emoji for a message.
    /// </summary>
    public static IReadOnlyList<WebhookEvent> FromInbound(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = message.Type == MessageTypes.Reaction ? WebhookEventTypes.MessageReaction
            : message.IsFromMe ? WebhookEventTypes.MessageSent
            : WebhookEventTypes.MessageReceived;
        return [ForMessage(message, type, "msg:" + message.MessageId)];
    }

    /// <summary>
    /// The events of an entry of the outbound stream: message.sent (and agent.reply when an agent wrote it) for a new
    /// message; message.ack when the entry carries a delivery state beyond "sent" (delivered, read, failed).
    /// </summary>
    public static IReadOnlyList<WebhookEvent> FromOutbound(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Ack is MessageAck.Delivered or MessageAck.Read or MessageAck.Failed)
        {
            return [ForMessage(message, WebhookEventTypes.MessageAck, $"msg:{message.MessageId}:{MessageAckNames.Of(message.Ack)}")];
        }

        var events = new List<WebhookEvent> { ForMessage(message, WebhookEventTypes.MessageSent, "msg:" + message.MessageId) };
        if (!string.IsNullOrEmpty(message.AgentId))
        {
            events.Add(ForMessage(message, WebhookEventTypes.AgentReply, "msg:" + message.MessageId));
        }

        return events;
    }

    /// <summary>The events of a status entry: instance.status, and instance.qr when a QR code waits to be scanned.</summary>
    public static IReadOnlyList<WebhookEvent> FromStatus(InstanceInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var subject = $"status:{info.Status}:{info.StatusChangedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}";
        var events = new List<WebhookEvent>
        {
            new(EventId(info.Id, subject, WebhookEventTypes.InstanceStatus), WebhookEventTypes.InstanceStatus, info.Id, info.StatusChangedAt) { Instance = info },
        };
        if (info.Status == InstanceStatus.QrReady)
        {
            events.Add(new(EventId(info.Id, subject, WebhookEventTypes.InstanceQr), WebhookEventTypes.InstanceQr, info.Id, info.StatusChangedAt) { Instance = info });
        }

        return events;
    }

    /// <summary>
    /// agent.failed for the incoming message <paramref name="messageId"/>: raised by the agent bridge after its last
    /// attempt (through <see cref="WebhookEventWriter.WriteAsync"/>). Its id depends on the instance and message only,
    /// so a repeated report adds nothing. <paramref name="error"/> must not contain keys.
    /// </summary>
    public static WebhookEvent AgentFailed(string instanceId, string messageId, string chatId, string? agentId, string error, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentNullException.ThrowIfNull(messageId);
        return new(EventId(instanceId, "msg:" + messageId, WebhookEventTypes.AgentFailed), WebhookEventTypes.AgentFailed, instanceId, at)
        {
            Details = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["messageId"] = messageId,
                ["chatId"] = chatId,
                ["agentId"] = agentId,
                ["error"] = error,
            },
        };
    }

    private static WebhookEvent ForMessage(ChatMessage message, string type, string subject)
        => new(EventId(message.InstanceId, subject, type), type, message.InstanceId, message.CreatedAt == default ? message.Timestamp : message.CreatedAt) { Message = message };

    /// <summary>The request body for <paramref name="format"/>; <paramref name="provider"/> fills the flat payload's <c>provider</c>.</summary>
    public string Render(string format, string? provider = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (format == WebhookFormats.Flat)
            {
                WriteFlat(json, provider);
            }
            else
            {
                WriteEnvelope(json);
            }
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private void WriteEnvelope(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("event", Type);
        json.WriteString("timestamp", Timestamp.ToUniversalTime());
        json.WriteString("instanceId", InstanceId);
        json.WriteStartObject("data");
        if (Message is { } m)
        {
            json.WriteString("messageId", m.MessageId);
            json.WriteString("chatId", m.ChatId);
            json.WriteString("from", m.From);
            json.WriteString("to", m.To);
            json.WriteString("body", m.Body);
            json.WriteString("type", m.Type);
            json.WriteBoolean("isFromMe", m.IsFromMe);
            json.WriteBoolean("isGroup", m.IsGroup);
            json.WriteString("groupId", m.GroupId);
            json.WriteString("contactName", m.ContactName);
            json.WriteString("agentId", m.AgentId);
            json.WriteString("sessionId", m.SessionId);
            json.WriteString("replyTo", m.ReplyToMessageId);
            json.WriteString("ack", MessageAckNames.Of(m.Ack));
            json.WriteString("timestamp", m.Timestamp.ToUniversalTime());
            WriteReaction(json, m, "messageId");
            if (m.Media is { } media)
            {
                json.WriteStartObject("media");
                json.WriteString("mediaId", media.MediaId);
                json.WriteString("contentType", media.ContentType);
                json.WriteString("fileName", media.FileName);
                json.WriteNumber("size", media.Size);
                json.WriteEndObject();
            }
        }

        if (Instance is { } i)
        {
            json.WriteString("status", i.Status.ToString());
            json.WriteString("reason", i.StatusReason);
            json.WriteString("statusChangedAt", i.StatusChangedAt.ToUniversalTime());
            json.WriteString("name", i.Name);
            json.WriteString("provider", i.Provider);
            json.WriteString("desiredState", i.DesiredState.ToString());
            if (i.Account is { } account)
            {
                json.WriteStartObject("account");
                json.WriteString("id", account.Id);
                json.WriteString("name", account.Name);
                json.WriteEndObject();
            }

            if (Type == WebhookEventTypes.InstanceQr)
            {
                json.WriteString("qrUrl", $"/api/v1/instances/{Uri.EscapeDataString(i.Id)}/qr");
            }
        }

        WriteDetails(json);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The seeds' flat payload, plus event and event_id so that receivers can dedupe.</summary>
    private void WriteFlat(Utf8JsonWriter json, string? provider)
    {
        json.WriteStartObject();
        json.WriteString("event", Type);
        json.WriteString("event_id", Id);
        json.WriteString("instance_id", InstanceId);
        if (Message is { } m)
        {
            json.WriteString("message_id", m.MessageId);
            json.WriteString("chat_id", m.ChatId);
            json.WriteString("from", m.From);
            json.WriteString("body", m.Body);
            json.WriteNumber("timestamp", m.Timestamp.ToUnixTimeSeconds());
            json.WriteString("provider", provider ?? Instance?.Provider);
            json.WriteString("message_type", m.Type);
            json.WriteBoolean("is_group", m.IsGroup);
            json.WriteString("contact_name", m.ContactName);
            json.WriteString("received_at", m.CreatedAt.ToUniversalTime());
            WriteReaction(json, m, "message_id");
        }
        else
        {
            json.WriteNumber("timestamp", Timestamp.ToUnixTimeSeconds());
            json.WriteString("provider", provider ?? Instance?.Provider);
            if (Instance is { } i)
            {
                json.WriteString("status", i.Status.ToString());
                json.WriteString("reason", i.StatusReason);
            }

            WriteDetails(json);
        }

        json.WriteEndObject();
    }

    /// <summary>A reaction's <c>reaction</c> object: the emoji, the message reacted to and whether it was removed (empty emoji).</summary>
    private static void WriteReaction(Utf8JsonWriter json, ChatMessage message, string messageIdName)
    {
        if (message.Type != MessageTypes.Reaction)
        {
            return;
        }

        json.WriteStartObject("reaction");
        json.WriteString("emoji", message.Body);
        json.WriteString(messageIdName, message.ReplyToMessageId);
        json.WriteBoolean("removed", message.Body.Length == 0);
        json.WriteEndObject();
    }

    private void WriteDetails(Utf8JsonWriter json)
    {
        if (Details is null)
        {
            return;
        }

        foreach (var (name, value) in Details)
        {
            json.WriteString(name, value);
        }
    }
}
