using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Data.Webhooks;
using Messengers.Webhooks;

namespace Messengers.Webhooks.Tests;

public sealed class WebhookEventTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);

    internal static ChatMessage Inbound(string instance, string id) => new()
    {
        InstanceId = instance,
        MessageId = id,
        ChatId = "79990001122@c.us",
        From = "79990001122@c.us",
        To = "me",
        Body = "hello " + id,
        ContactName = "Ann",
        Timestamp = T0,
        CreatedAt = T0.AddSeconds(1),
    };

    internal static InstanceInfo Status(string instance, InstanceStatus status, DateTimeOffset at) => new()
    {
        Id = instance,
        Name = "shop",
        Provider = "telegram",
        Status = status,
        StatusChangedAt = at,
        Agent = new AgentSettings { AgentId = "agent-1" },
    };

    [Fact]
    public void FromInbound_SameMessageTwice_SameEventId()
    {
        var first = Assert.Single(WebhookEvent.FromInbound(Inbound("i1", "m1")));
        var again = Assert.Single(WebhookEvent.FromInbound(Inbound("i1", "m1") with { Body = "edited" }));

        Assert.Equal(WebhookEventTypes.MessageReceived, first.Type);
        Assert.Equal(first.Id, again.Id);
        Assert.Matches("^evt_[0-9a-f]{32}$", first.Id);
        Assert.NotEqual(first.Id, Assert.Single(WebhookEvent.FromInbound(Inbound("i2", "m1"))).Id);
        Assert.NotEqual(first.Id, Assert.Single(WebhookEvent.FromInbound(Inbound("i1", "m2"))).Id);
    }

    [Fact]
    public void FromOutbound_AgentMessage_MessageSentAndAgentReplyWithDistinctIds()
    {
        var sent = Inbound("i1", "out-1") with { IsFromMe = true, AgentId = "agent-1", Ack = MessageAck.Sent };

        var events = WebhookEvent.FromOutbound(sent);

        Assert.Equal([WebhookEventTypes.MessageSent, WebhookEventTypes.AgentReply], events.Select(e => e.Type));
        Assert.NotEqual(events[0].Id, events[1].Id);
        Assert.Equal(WebhookEventTypes.MessageSent, Assert.Single(WebhookEvent.FromOutbound(sent with { AgentId = null })).Type);
    }

    [Fact]
    public void FromOutbound_AckChanges_OneMessageAckEventPerAckState()
    {
        var sent = Inbound("i1", "out-1") with { IsFromMe = true };

        var delivered = Assert.Single(WebhookEvent.FromOutbound(sent with { Ack = MessageAck.Delivered }));
        var read = Assert.Single(WebhookEvent.FromOutbound(sent with { Ack = MessageAck.Read }));

        Assert.Equal(WebhookEventTypes.MessageAck, delivered.Type);
        Assert.NotEqual(delivered.Id, read.Id);
        Assert.Equal(delivered.Id, Assert.Single(WebhookEvent.FromOutbound(sent with { Ack = MessageAck.Delivered })).Id);
    }

    [Fact]
    public void FromStatus_QrReady_StatusAndQrEvents()
    {
        var events = WebhookEvent.FromStatus(Status("i1", InstanceStatus.QrReady, T0));

        Assert.Equal([WebhookEventTypes.InstanceStatus, WebhookEventTypes.InstanceQr], events.Select(e => e.Type));
        Assert.Equal(events[0].Id, WebhookEvent.FromStatus(Status("i1", InstanceStatus.QrReady, T0))[0].Id);
        Assert.NotEqual(events[0].Id, WebhookEvent.FromStatus(Status("i1", InstanceStatus.QrReady, T0.AddSeconds(1)))[0].Id);
        Assert.Single(WebhookEvent.FromStatus(Status("i1", InstanceStatus.Ready, T0)));
    }

    [Fact]
    public void Render_Envelope_HasIdEventTimestampInstanceAndData()
    {
        var evt = Assert.Single(WebhookEvent.FromInbound(Inbound("i1", "m1")));

        using var json = JsonDocument.Parse(evt.Render(WebhookFormats.Envelope));
        var root = json.RootElement;
        Assert.Equal(["id", "event", "timestamp", "instanceId", "data"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(evt.Id, root.GetProperty("id").GetString());
        Assert.Equal("message.received", root.GetProperty("event").GetString());
        Assert.Equal("i1", root.GetProperty("instanceId").GetString());
        Assert.Equal("hello m1", root.GetProperty("data").GetProperty("body").GetString());
        Assert.Equal("m1", root.GetProperty("data").GetProperty("messageId").GetString());
    }

    [Fact]
    public void Render_Flat_HasTheSeedsFields()
    {
        var evt = Assert.Single(WebhookEvent.FromInbound(Inbound("i1", "m1") with { IsGroup = true }));

        using var json = JsonDocument.Parse(evt.Render(WebhookFormats.Flat, "whatsapp"));
        var root = json.RootElement;
        Assert.Equal("i1", root.GetProperty("instance_id").GetString());
        Assert.Equal("m1", root.GetProperty("message_id").GetString());
        Assert.Equal("79990001122@c.us", root.GetProperty("chat_id").GetString());
        Assert.Equal("79990001122@c.us", root.GetProperty("from").GetString());
        Assert.Equal("hello m1", root.GetProperty("body").GetString());
        Assert.Equal(T0.ToUnixTimeSeconds(), root.GetProperty("timestamp").GetInt64());
        Assert.Equal("whatsapp", root.GetProperty("provider").GetString());
        Assert.Equal("text", root.GetProperty("message_type").GetString());
        Assert.True(root.GetProperty("is_group").GetBoolean());
        Assert.Equal("Ann", root.GetProperty("contact_name").GetString());
        Assert.Equal(evt.Id, root.GetProperty("event_id").GetString());
    }

    [Fact]
    public void Render_StatusEnvelope_CarriesNoCredentialsOrKeys()
    {
        var evt = WebhookEvent.FromStatus(Status("i1", InstanceStatus.QrReady, T0) with { CredentialNames = ["botToken"] })[1];

        var body = evt.Render(WebhookFormats.Envelope);

        Assert.DoesNotContain("botToken", body, StringComparison.Ordinal);
        Assert.DoesNotContain("apiKey", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("/api/v1/instances/i1/qr", body, StringComparison.Ordinal);
    }

    [Fact]
    public void AgentFailed_SameMessageTwice_SameIdAndDetailsInData()
    {
        var evt = WebhookEvent.AgentFailed("i1", "m1", "chat-1", "agent-1", "HTTP 502 after 5 attempts", T0);

        Assert.Equal(evt.Id, WebhookEvent.AgentFailed("i1", "m1", "chat-1", "agent-1", "other text", T0.AddMinutes(1)).Id);
        Assert.NotEqual(evt.Id, Assert.Single(WebhookEvent.FromInbound(Inbound("i1", "m1"))).Id);
        using var json = JsonDocument.Parse(evt.Render(WebhookFormats.Envelope));
        var data = json.RootElement.GetProperty("data");
        Assert.Equal("agent.failed", json.RootElement.GetProperty("event").GetString());
        Assert.Equal("m1", data.GetProperty("messageId").GetString());
        Assert.Equal("HTTP 502 after 5 attempts", data.GetProperty("error").GetString());
    }
}
