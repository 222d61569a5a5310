using System.Collections.Concurrent;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;

namespace Messengers.Grains.Tests.Infrastructure;

/// <summary>
/// A messenger provider ("fake") for grain tests: a connection reports Ready, takes visitor posts like the web chat,
/// records what is sent and typed, and answers directory commands from fixed data. One instance is shared by every
/// silo of the test cluster, so tests see what any silo's connection did.
/// </summary>
public sealed class FakeMessengerProvider(TimeProvider time) : IMessengerProvider
{
    public const string ProviderName = "fake";

    private long _sent;

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities => ProviderCapabilities.Text | ProviderCapabilities.Typing | ProviderCapabilities.Groups | ProviderCapabilities.Contacts;

    public int MaxTextLength => 20;

    /// <summary>Messages sent, by instance, in order.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<OutgoingMessage>> Sent { get; } = new();

    /// <summary>Typing switches, by instance: (chat, on/off).</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<(string ChatId, bool Typing)>> Typing { get; } = new();

    /// <summary>Connections opened so far, by instance.</summary>
    public ConcurrentDictionary<string, int> Connects { get; } = new();

    /// <summary>Credentials each connection was opened with, by instance (the latest).</summary>
    public ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> Credentials { get; } = new();

    public IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings)
        => new Dictionary<string, string[]>();

    public bool IsValidChatId(string chatId) => !string.IsNullOrEmpty(chatId);

    public IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks)
    {
        ArgumentNullException.ThrowIfNull(config);
        Connects.AddOrUpdate(config.InstanceId, 1, (_, n) => n + 1);
        Credentials[config.InstanceId] = config.Credentials;
        return new Connection(this, config.InstanceId, callbacks);
    }

    public IReadOnlyList<OutgoingMessage> SentBy(string instanceId)
        => Sent.TryGetValue(instanceId, out var sent) ? [.. sent] : [];

    private sealed class Connection(FakeMessengerProvider provider, string instanceId, IConnectionCallbacks callbacks) : IMessengerConnection
    {
        public Task StartAsync(CancellationToken cancellationToken) => callbacks.OnStatusAsync(InstanceStatus.Ready, null, new AccountInfo(instanceId, "Fake"));

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            provider.Sent.GetOrAdd(instanceId, _ => new()).Enqueue(message);
            var id = "out-" + Interlocked.Increment(ref provider._sent).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.FromResult(new SendResult(id, provider.Now()));
        }

        public Task SetTypingAsync(string chatId, bool typing, CancellationToken cancellationToken)
        {
            provider.Typing.GetOrAdd(instanceId, _ => new()).Enqueue((chatId, typing));
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<MessengerChat>> GetChatsAsync(int limit, CancellationToken cancellationToken)
            => Task.FromResult<IReadOnlyList<MessengerChat>>([new MessengerChat("chat-1", "First", false, 2, null), new MessengerChat("group-1", "Group", true, 0, null)]);

        public Task<GroupInfo?> GetGroupAsync(string groupId, CancellationToken cancellationToken)
            => groupId == "group-1"
                ? Task.FromResult<GroupInfo?>(new GroupInfo { GroupId = groupId, Name = "Group", Participants = [new GroupParticipant("p1", true, false)] })
                : throw new MessengerRequestException($"No group '{groupId}'.", notFound: true);

        public async Task<InboundResult> ReceiveAsync(ProviderInbound inbound, CancellationToken cancellationToken)
        {
            if (inbound is not VisitorPost post)
            {
                throw new CapabilityNotSupportedException("this kind of input");
            }

            var now = provider.Now();
            var message = new InboundMessage { MessageId = "in-" + Guid.CreateVersion7(now).ToString("N"), ChatId = post.VisitorId, From = post.VisitorId, Body = post.Text, Timestamp = now };
            await callbacks.OnMessageAsync(message);
            return InboundResult.Stored(message.MessageId, now);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private DateTimeOffset Now() => time.GetUtcNow();
}
