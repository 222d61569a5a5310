using System.Collections.Concurrent;
using System.Threading.Channels;
using Messengers.Abstractions.Messages;

namespace Messengers.Providers.WebChat;

/// <summary>An event for one visitor's page: a message either way (with its media, if any), or typing.</summary>
public sealed record WebChatEvent(string Kind, string? MessageId, string? Text, string? Direction, DateTimeOffset Timestamp, bool? Typing = null, MediaRef? Media = null);

/// <summary>
/// The open event streams of web-chat visitors in this process, by (instance, visitor). A visitor may have several
/// tabs open; each gets every event. Slow readers lose nothing up to a bounded buffer, then the oldest events.
/// </summary>
public sealed class WebChatHub
{
    private readonly ConcurrentDictionary<(string InstanceId, string VisitorId), ConcurrentDictionary<Guid, Channel<WebChatEvent>>> _visitors = new();

    public int ConnectionCount => _visitors.Values.Sum(v => v.Count);

    /// <summary>Opens a stream of events for a visitor; dispose the returned handle to close it.</summary>
    public WebChatSubscription Subscribe(string instanceId, string visitorId)
    {
        var channel = Channel.CreateBounded<WebChatEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var id = Guid.NewGuid();
        var key = (instanceId, visitorId);
        _visitors.GetOrAdd(key, _ => new()).TryAdd(id, channel);
        return new WebChatSubscription(channel.Reader, () =>
        {
            if (_visitors.TryGetValue(key, out var tabs))
            {
                tabs.TryRemove(id, out _);
                if (tabs.IsEmpty)
                {
                    _visitors.TryRemove(new KeyValuePair<(string, string), ConcurrentDictionary<Guid, Channel<WebChatEvent>>>(key, tabs));
                }
            }

            channel.Writer.TryComplete();
        });
    }

    public void Publish(string instanceId, string visitorId, WebChatEvent chatEvent)
    {
        if (_visitors.TryGetValue((instanceId, visitorId), out var tabs))
        {
            foreach (var channel in tabs.Values)
            {
                channel.Writer.TryWrite(chatEvent);
            }
        }
    }
}

public sealed class WebChatSubscription(ChannelReader<WebChatEvent> reader, Action close) : IDisposable
{
    public ChannelReader<WebChatEvent> Events { get; } = reader;

    public void Dispose() => close();
}
