using Orleans;

namespace Messengers.Abstractions.Providers;

/// <summary>
/// An operation on a live connection that returns <typeparamref name="TResult"/>; it runs itself against the
/// <see cref="IMessengerConnection"/> inside the instance's ProviderClientGrain. Connections that cannot do it answer
/// <see cref="CapabilityNotSupportedException"/>.
/// </summary>
[GenerateSerializer, Immutable]
public abstract record ProviderCommand<TResult>
{
    public abstract Task<TResult> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken);
}

/// <summary>The operations a connection may offer besides sending, one record each.</summary>
public static class ProviderCommands
{
    [GenerateSerializer, Immutable, Alias("messengers.cmd.MarkRead")]
    public sealed record MarkRead(string ChatId) : ProviderCommand<bool>
    {
        public override async Task<bool> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(connection);
            await connection.MarkReadAsync(ChatId, cancellationToken);
            return true;
        }
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.SetTyping")]
    public sealed record SetTyping(string ChatId, bool Typing) : ProviderCommand<bool>
    {
        public override async Task<bool> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(connection);
            await connection.SetTypingAsync(ChatId, Typing, cancellationToken);
            return true;
        }
    }

    /// <summary>Reacts to a message; an empty emoji removes the reaction.</summary>
    [GenerateSerializer, Immutable, Alias("messengers.cmd.React")]
    public sealed record React(string ChatId, string MessageId, string Emoji) : ProviderCommand<bool>
    {
        public override async Task<bool> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(connection);
            await connection.ReactAsync(ChatId, MessageId, Emoji, cancellationToken);
            return true;
        }
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.GetChats")]
    public sealed record GetChats(int Limit) : ProviderCommand<IReadOnlyList<MessengerChat>>
    {
        public override Task<IReadOnlyList<MessengerChat>> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).GetChatsAsync(Limit, cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.GetContacts")]
    public sealed record GetContacts : ProviderCommand<IReadOnlyList<MessengerContact>>
    {
        public override Task<IReadOnlyList<MessengerContact>> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).GetContactsAsync(cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.GetContact")]
    public sealed record GetContact(string ContactId) : ProviderCommand<MessengerContact?>
    {
        public override Task<MessengerContact?> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).GetContactAsync(ContactId, cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.CreateGroup")]
    public sealed record CreateGroup(string Name, IReadOnlyList<string> Participants) : ProviderCommand<GroupCreated>
    {
        public override Task<GroupCreated> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).CreateGroupAsync(Name, Participants, cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.GetGroup")]
    public sealed record GetGroup(string GroupId) : ProviderCommand<GroupInfo?>
    {
        public override Task<GroupInfo?> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).GetGroupAsync(GroupId, cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.AddParticipants")]
    public sealed record AddParticipants(string GroupId, IReadOnlyList<string> Participants) : ProviderCommand<IReadOnlyList<ParticipantResult>>
    {
        public override Task<IReadOnlyList<ParticipantResult>> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).AddParticipantsAsync(GroupId, Participants, cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.RemoveParticipants")]
    public sealed record RemoveParticipants(string GroupId, IReadOnlyList<string> Participants) : ProviderCommand<IReadOnlyList<ParticipantResult>>
    {
        public override Task<IReadOnlyList<ParticipantResult>> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).RemoveParticipantsAsync(GroupId, Participants, cancellationToken);
    }

    [GenerateSerializer, Immutable, Alias("messengers.cmd.LeaveGroup")]
    public sealed record LeaveGroup(string GroupId) : ProviderCommand<bool>
    {
        public override async Task<bool> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(connection);
            await connection.LeaveGroupAsync(GroupId, cancellationToken);
            return true;
        }
    }

    /// <summary>Pairing by phone number instead of QR (digits only, international).</summary>
    [GenerateSerializer, Immutable, Alias("messengers.cmd.RequestPairingCode")]
    public sealed record RequestPairingCode(string PhoneNumber) : ProviderCommand<string>
    {
        public override Task<string> RunAsync(IMessengerConnection connection, CancellationToken cancellationToken)
            => Connection(connection).RequestPairingCodeAsync(PhoneNumber, cancellationToken);
    }

    private static IMessengerConnection Connection(IMessengerConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection;
    }
}
