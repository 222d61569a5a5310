using System.Threading.Channels;
using Messengers.Abstractions.WebChat;

namespace Messengers.Providers.WebChat;

/// <summary>One open event stream of a visitor (one tab); dispose it to close the stream.</summary>
public sealed class WebChatSubscription(ChannelReader<WebChatEvent> reader, Action close) : IDisposable
{
    private Action? _close = close;

    public ChannelReader<WebChatEvent> Events { get; } = reader;

    public void Dispose() => Interlocked.Exchange(ref _close, null)?.Invoke();
}
