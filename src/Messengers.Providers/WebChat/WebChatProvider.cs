using System.Text.RegularExpressions;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.WebChat;

namespace Messengers.Providers.WebChat;

/// <summary>
/// The built-in web chat (provider "webchat"): each visitor of <c>/webchat/{instanceId}</c> is a chat whose id is
/// the visitor id. Sending to a chat pushes an event to the visitor's open pages; media is announced in the event
/// and fetched by the page from the host's visitor media route.
/// </summary>
public sealed partial class WebChatProvider(WebChatHub hub, TimeProvider time) : IMessengerProvider
{
    public const string ProviderName = "webchat";

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities => ProviderCapabilities.Text | ProviderCapabilities.Media | ProviderCapabilities.Typing | ProviderCapabilities.History;

    public int MaxTextLength => 4000;

    public IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return credentials.Count == 0
            ? new Dictionary<string, string[]>()
            : new Dictionary<string, string[]> { ["credentials"] = ["The web chat takes no credentials."] };
    }

    public bool IsValidChatId(string chatId) => chatId is not null && VisitorIdPattern().IsMatch(chatId);

    public IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new Connection(hub, time, config.InstanceId, callbacks);
    }

    /// <summary>Visitor ids: 1–64 letters, digits, '-' or '_' (a UUID fits).</summary>
    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    public static partial Regex VisitorIdPattern();

    private sealed class Connection(WebChatHub hub, TimeProvider time, string instanceId, IConnectionCallbacks callbacks) : IMessengerConnection
    {
        private int _watching;

        /// <summary>Ready once this silo's hub knows which other silos have the instance's visitor streams open.</summary>
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _watching, 1) == 0)
            {
                await hub.WatchAsync(instanceId, cancellationToken);
            }

            await callbacks.OnStatusAsync(InstanceStatus.Ready, null, new AccountInfo(instanceId, "Web chat"));
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Unwatch();
            return Task.CompletedTask;
        }

        public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            var now = time.GetUtcNow();
            var id = "wco-" + (message.ClientMessageId is { } clientId ? clientId : Guid.CreateVersion7(now).ToString("N")); // time-ordered, as the visitor's
            hub.Publish(instanceId, message.ChatId, new WebChatEvent("message", id, message.Text, "out", now, Media: message.Media), new WebChatEvent("typing", null, null, null, now, Typing: false));
            return Task.FromResult(new SendResult(id, now));
        }

        public Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken)
        {
            hub.Publish(instanceId, chatId, new WebChatEvent("typing", null, null, null, time.GetUtcNow(), Typing: typing));
            return Task.CompletedTask;
        }

        public Task MarkReadAsync(string chatId, CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>A visitor's message: stored (and published) through the chat's grain, then shown on the visitor's open pages.</summary>
        public async Task<InboundResult> ReceiveAsync(ProviderInbound inbound, CancellationToken cancellationToken)
        {
            if (inbound is not VisitorPost post)
            {
                throw new CapabilityNotSupportedException("this kind of input");
            }

            var now = time.GetUtcNow();
            var message = new InboundMessage
            {
                // Time-ordered (UUIDv7): new ids land at the end of the store's (instance_id, message_id) index instead
                // of at random pages, which keeps inserts cheap as the table grows.
                MessageId = post.ClientMessageId is { } clientId ? $"wci-{post.VisitorId}-{clientId}" : "wci-" + Guid.CreateVersion7(now).ToString("N"),
                ChatId = post.VisitorId,
                From = post.VisitorId,
                Body = post.Text,
                Media = post.Media,
                Timestamp = now,
            };
            await callbacks.OnMessageAsync(message);
            hub.Publish(instanceId, post.VisitorId, new WebChatEvent("message", message.MessageId, message.Body, "in", now, Media: post.Media));
            return InboundResult.Stored(message.MessageId, now);
        }

        public ValueTask DisposeAsync()
        {
            Unwatch();
            return ValueTask.CompletedTask;
        }

        private void Unwatch()
        {
            if (Interlocked.Exchange(ref _watching, 0) == 1)
            {
                hub.Unwatch(instanceId);
            }
        }
    }
}
