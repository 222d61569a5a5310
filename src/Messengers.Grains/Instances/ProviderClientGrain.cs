using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Runtime;
using Microsoft.Extensions.Logging;

namespace Messengers.Grains.Instances;

/// <summary>
/// Owns the live connection of one instance. Kept active while connected; the connection's callbacks reach the
/// InstanceGrain (status, QR) and the ChatSessionGrains (messages) through grain references.
/// </summary>
[CollectionAgeLimit(AlwaysActive = true)]
public sealed class ProviderClientGrain(MessengerProviders providers, IMessageStore store, TimeProvider time, ILogger<ProviderClientGrain> logger) : Grain, IProviderClientGrain
{
    private IMessengerConnection? _connection;

    private string Id => this.GetPrimaryKeyString();

    public async Task StartAsync(ConnectionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (_connection is not null)
        {
            await StopConnectionAsync(logout: false);
        }

        var provider = providers.Get(config.Provider);
        _connection = provider.Connect(config, new Callbacks(GrainFactory, Id));
        try
        {
            await _connection.StartAsync(CancellationToken.None);
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Connection of instance {InstanceId} failed to start", Id);
            await GrainFactory.GetGrain<IInstanceGrain>(Id).ReportStatusAsync(InstanceStatus.Failed, exception.Message, null);
        }
    }

    public Task StopAsync() => StopConnectionAsync(logout: false);

    public Task LogoutAsync() => StopConnectionAsync(logout: true);

    public async Task<SendResult> SendAsync(OutgoingMessage message)
        => await Connection().SendAsync(message, CancellationToken.None);

    public Task MarkReadAsync(string chatId) => Connection().MarkReadAsync(chatId, CancellationToken.None);

    public Task SetTypingAsync(string chatId, bool typing) => Connection().SetTypingAsync(chatId, typing, CancellationToken.None);

    public Task<string> RequestPairingCodeAsync(string phoneNumber) => Connection().RequestPairingCodeAsync(phoneNumber, CancellationToken.None);

    public Task<bool> IsConnectedAsync() => Task.FromResult(_connection is not null);

    public Task ReactAsync(string chatId, string messageId, string emoji) => Connection().ReactAsync(chatId, messageId, emoji, CancellationToken.None);

    public Task<IReadOnlyList<MessengerChat>> GetChatsAsync(int limit) => Connection().GetChatsAsync(limit, CancellationToken.None);

    public Task<IReadOnlyList<MessengerContact>> GetContactsAsync() => Connection().GetContactsAsync(CancellationToken.None);

    public Task<MessengerContact?> GetContactAsync(string contactId) => Connection().GetContactAsync(contactId, CancellationToken.None);

    public Task<GroupCreated> CreateGroupAsync(string name, IReadOnlyList<string> participants) => Connection().CreateGroupAsync(name, participants, CancellationToken.None);

    public Task<GroupInfo?> GetGroupAsync(string groupId) => Connection().GetGroupAsync(groupId, CancellationToken.None);

    public Task<IReadOnlyList<ParticipantResult>> AddParticipantsAsync(string groupId, IReadOnlyList<string> participants)
        => Connection().AddParticipantsAsync(groupId, participants, CancellationToken.None);

    public Task<IReadOnlyList<ParticipantResult>> RemoveParticipantsAsync(string groupId, IReadOnlyList<string> participants)
        => Connection().RemoveParticipantsAsync(groupId, participants, CancellationToken.None);

    public Task LeaveGroupAsync(string groupId) => Connection().LeaveGroupAsync(groupId, CancellationToken.None);

    /// <summary>
    /// Stores fetched history in the message store under the messenger's ids (the dedupe key, so a message we sent or
    /// received before is not stored twice) and marks it published: history is not new input for agents or webhooks.
    /// </summary>
    public async Task<HistoryFetched> FetchHistoryAsync(string chatId, int count, string? beforeMessageId)
    {
        var messages = await Connection().FetchHistoryAsync(chatId, count, beforeMessageId, CancellationToken.None);
        var stored = 0;
        foreach (var message in messages)
        {
            var row = message.ToStored(Id, chatId, time.GetUtcNow()) with { Ack = message.IsFromMe ? MessageAck.Sent : MessageAck.None };
            if (await store.TryInsertAsync(row))
            {
                await store.MarkPublishedAsync(Id, row.MessageId);
                stored++;
            }
        }

        logger.LogInformation("Fetched {Fetched} history messages of a chat of {InstanceId}; {Stored} were new", messages.Count, Id, stored);
        return new HistoryFetched(chatId, messages.Count, stored, [.. messages.Select(m => m.MessageId)]);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    private IMessengerConnection Connection()
        => _connection ?? throw new InstanceNotReadyException($"Instance '{Id}' is not running: start it first.");

    private async Task StopConnectionAsync(bool logout)
    {
        var connection = _connection;
        _connection = null;
        if (connection is null)
        {
            return;
        }

        try
        {
            if (logout)
            {
                await connection.LogoutAsync(CancellationToken.None);
            }
            else
            {
                await connection.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private sealed class Callbacks(IGrainFactory grains, string instanceId) : IConnectionCallbacks
    {
        public Task OnStatusAsync(InstanceStatus status, string? reason, AccountInfo? account = null)
            => grains.GetGrain<IInstanceGrain>(instanceId).ReportStatusAsync(status, reason, account);

        public Task OnQrAsync(QrCodeInfo? qr) => grains.GetGrain<IInstanceGrain>(instanceId).ReportQrAsync(qr);

        public Task OnMessageAsync(InboundMessage message)
            => grains.GetGrain<IChatSessionGrain>(ChatKey.For(instanceId, message.ChatId)).ReceiveAsync(message);

        public Task OnAckAsync(string messageId, MessageAck ack) => Task.CompletedTask;
    }
}
