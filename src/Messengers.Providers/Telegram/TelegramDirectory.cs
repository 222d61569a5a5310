using System.Globalization;
using Messengers.Abstractions.Providers;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Telegram;

/// <summary>
/// Reactions and group info for Telegram bots. The Bot API cannot list a group's members, create groups or add people,
/// so a group's participants are its administrators (the creator first); the rest stays "not supported".
/// </summary>
internal sealed partial class TelegramConnection
{
    public async Task ReactAsync(string chatId, string messageId, string emoji, CancellationToken cancellationToken)
    {
        // Our ids are "{chat}_{message}" (TelegramProvider.MessageId); a bare number is the message id itself.
        var number = messageId.LastIndexOf('_') is var at && int.TryParse(messageId[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new MessengerRequestException($"'{messageId}' is not a Telegram message id.", notFound: true);
        try
        {
            await client.SetMessageReaction(ChatOf(chatId), number, emoji.Length == 0 ? [] : [new ReactionTypeEmoji { Emoji = emoji }], cancellationToken: cancellationToken);
        }
        catch (ApiRequestException exception) when (exception.ErrorCode == 400)
        {
            throw new MessengerRequestException($"Telegram refused the reaction: {exception.Message}", exception.Message.Contains("MESSAGE_ID_INVALID", StringComparison.Ordinal) || exception.Message.Contains("not found", StringComparison.OrdinalIgnoreCase), exception);
        }
    }

    public async Task<GroupInfo?> GetGroupAsync(string groupId, CancellationToken cancellationToken)
    {
        ChatFullInfo chat;
        try
        {
            chat = await client.GetChat(ChatOf(groupId), cancellationToken);
        }
        catch (ApiRequestException exception) when (exception.ErrorCode is 400 or 403)
        {
            return null; // chat not found, or the bot is no longer in it
        }

        if (chat.Type is not (ChatType.Group or ChatType.Supergroup or ChatType.Channel))
        {
            return null;
        }

        var administrators = await client.GetChatAdministrators(ChatOf(groupId), cancellationToken: cancellationToken);
        var ordered = administrators.OrderBy(m => m.Status == ChatMemberStatus.Creator ? 0 : 1).ToList();
        return new GroupInfo
        {
            GroupId = chat.Id.ToString(CultureInfo.InvariantCulture),
            Name = chat.Title,
            Description = chat.Description,
            Owner = ordered.FirstOrDefault(m => m.Status == ChatMemberStatus.Creator)?.User.Id.ToString(CultureInfo.InvariantCulture),
            Participants = [.. ordered.Select(m => new GroupParticipant(m.User.Id.ToString(CultureInfo.InvariantCulture), true, m.Status == ChatMemberStatus.Creator))],
        };
    }

    private static ChatId ChatOf(string chatId)
        => long.TryParse(chatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var numeric) ? numeric : chatId;
}
