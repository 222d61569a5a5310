using Messengers.Abstractions.Providers;
using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Instances;

/// <summary>
/// The one door of an instance's connection (key: instance id; one activation in the cluster). Every inbound message
/// (polled, pushed by a provider's webhook, or posted by a web-chat visitor) and every send passes through it, and
/// the provider's credentials never leave it (and the InstanceGrain that hands them over at start).
/// A capability beyond sending is a <see cref="ProviderCommand{TResult}"/>: adding one touches the command and the
/// connections that implement it, never this interface.
/// </summary>
public interface IProviderClientGrain : IGrainWithStringKey
{
    /// <summary>Opens the connection with <paramref name="config"/> (returns once it is starting; progress is reported to the InstanceGrain).</summary>
    Task StartAsync(ConnectionConfig config);

    Task StopAsync();

    /// <summary>Stops and ends the session with the messenger (forgets the pairing) where that exists.</summary>
    Task LogoutAsync();

    [ReadOnly]
    Task<bool> IsConnectedAsync();

    Task<SendResult> SendAsync(OutgoingMessage message);

    /// <summary>Input pushed to the connection from outside (a visitor's post, a provider's webhook delivery); stored before this returns.</summary>
    Task<InboundResult> ReceiveAsync(ProviderInbound inbound);

    /// <summary>Runs a provider operation (read marks, typing, reactions, the directory, pairing codes) on the live connection.</summary>
    Task<TResult> ExecuteAsync<TResult>(ProviderCommand<TResult> command);

    /// <summary>Fetches older messages of a chat from the messenger and stores the new ones (not published: the agent does not answer history).</summary>
    Task<HistoryFetched> FetchHistoryAsync(string chatId, int count, string? beforeMessageId);
}
