using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Data.Messages;
using Messengers.Grains.Placement;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Messengers.Grains.Instances;

/// <summary>
/// Owns the live connection of one instance. Kept active while connected; the connection's callbacks reach the
/// InstanceGrain (status, QR) and the ChatSessionGrains (messages) through grain references.
/// Reentrant: a send waiting for the messenger (or for flood control) must not hold up the chat's other messages or
/// a visitor's post; the scheduler still runs one turn at a time, and the connections are built for concurrent use.
/// </summary>
[Reentrant, KeepAlive, ConnectionPlacement]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source lives as long as one connection and is disposed when it stops or the grain deactivates.")]
public sealed class ProviderClientGrain(
    MessengerProviders providers,
    IMessageStore store,
    SiloConnections silo,
    TimeProvider time,
    ILogger<ProviderClientGrain> logger) : Grain, IProviderClientGrain
{
    /// <summary>How many of the latest sends with a client message id a repeated send is recognised among.</summary>
    private const int RecentSends = 1000;
    private readonly Dictionary<(string ChatId, string ClientId), Task<SendResult>> _sends = [];
    private readonly Queue<(string ChatId, string ClientId)> _sendOrder = new();
    private IMessengerConnection? _connection;
    private CancellationTokenSource? _connectionStopped; // ends the connection's pending status reports

    private string Id => this.GetPrimaryKeyString();

    public async Task StartAsync(ConnectionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (silo.IsDraining)
        {
            // This activation is on a silo that is handing its connections over: a caller elsewhere still had this
            // silo's address, and a call sent there makes a new activation here rather than asking placement again.
            // Migrating asks placement (which skips a draining silo) and leaves a forwarding address, so the
            // caller's next try reaches the new activation on another silo.
            this.MigrateOnIdle();
            throw new InstanceNotReadyException($"Instance '{Id}': this silo is stopping; start the connection again to open it on another silo.");
        }

        if (_connection is not null)
        {
            await StopConnectionAsync(logout: false);
        }

        var provider = providers.Get(config.Provider);
        _connectionStopped = new CancellationTokenSource();
        _connection = provider.Connect(config, new ConnectionCallbacks(GrainFactory, Id, time, logger, _connectionStopped.Token));
        silo.Add(Id);
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

    public async Task StopAsync()
    {
        await StopConnectionAsync(logout: false);
        this.DeactivateOnIdle(); // nothing to keep once the connection is closed
    }

    public async Task LogoutAsync()
    {
        await StopConnectionAsync(logout: true);
        this.DeactivateOnIdle();
    }

    public Task<SendResult> SendAsync(OutgoingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var connection = Connection();
        if (message.ClientMessageId is not { } clientId)
        {
            return connection.SendAsync(message, CancellationToken.None);
        }

        // The chat grain that asked may have died after the messenger took the message and before it stored the
        // row; its next activation asks again with the same client id. Answering from here keeps the message single.
        var key = (message.ChatId, clientId);
        if (_sends.TryGetValue(key, out var earlier) && !earlier.IsFaulted && !earlier.IsCanceled)
        {
            return earlier;
        }

        var send = connection.SendAsync(message, CancellationToken.None);
        if (_sends.TryAdd(key, send))
        {
            _sendOrder.Enqueue(key);
            while (_sendOrder.Count > RecentSends)
            {
                _sends.Remove(_sendOrder.Dequeue());
            }
        }
        else
        {
            _sends[key] = send; // replaces a failed one
        }

        return send;
    }

    public Task<bool> IsConnectedAsync() => Task.FromResult(_connection is not null);

    public Task<InboundResult> ReceiveAsync(ProviderInbound inbound)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        return Connection().ReceiveAsync(inbound, CancellationToken.None);
    }

    public Task<TResult> ExecuteAsync<TResult>(ProviderCommand<TResult> command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.RunAsync(Connection(), CancellationToken.None);
    }

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
        silo.Remove(Id);
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }

        EndReports();
    }

    private void EndReports()
    {
        _connectionStopped?.Cancel();
        _connectionStopped?.Dispose();
        _connectionStopped = null;
    }

    private IMessengerConnection Connection()
        => _connection ?? throw new InstanceNotReadyException($"Instance '{Id}' is not running: start it first.");

    private async Task StopConnectionAsync(bool logout)
    {
        var connection = _connection;
        _connection = null;
        silo.Remove(Id);
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
            EndReports();
        }
    }
}
