using System.Globalization;
using Messengers.Abstractions.Providers;
using Messengers.Providers.Telegram.BotApi;

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
        var number = messageId.LastIndexOf('_') is var at && long.TryParse(messageId[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new MessengerRequestException($"'{messageId}' is not a Telegram message id.", notFound: true);
        try
        {
            await client.SetMessageReactionAsync(ChatOf(chatId), number, emoji.Length == 0 ? [] : [ReactionType.FromEmoji(emoji)], cancellationToken: cancellationToken);
        }
        catch (TelegramApiException exception) when (exception.ErrorCode == 400)
        {
            throw new MessengerRequestException($"Telegram refused the reaction: {exception.Description}", exception.Description.Contains("MESSAGE_ID_INVALID", StringComparison.Ordinal) || exception.Description.Contains("not found", StringComparison.OrdinalIgnoreCase), exception);
        }
    }

    public async Task<GroupInfo?> GetGroupAsync(string groupId, CancellationToken cancellationToken)
    {
        ChatFullInfo chat;
        try
        {
            chat = await client.GetChatAsync(ChatOf(groupId), cancellationToken);
        }
        catch (TelegramApiException exception) when (exception.ErrorCode is 400 or 403)
        {
            return null; // chat not found, or the bot is no longer in it
        }

        if (chat.Type is not (ChatType.Group or ChatType.Supergroup or ChatType.Channel))
        {
            return null;
        }

        var administrators = await client.GetChatAdministratorsAsync(ChatOf(groupId), cancellationToken);
        var ordered = administrators.OrderBy(m => m.Status == "creator" ? 0 : 1).ToList();
        return new GroupInfo
        {
            GroupId = chat.Id.ToString(CultureInfo.InvariantCulture),
            Name = chat.Title,
            Description = chat.Description,
            Owner = ordered.FirstOrDefault(m => m.Status == "creator")?.User.Id.ToString(CultureInfo.InvariantCulture),
            Participants = [.. ordered.Select(m => new GroupParticipant(m.User.Id.ToString(CultureInfo.InvariantCulture), true, m.Status == "creator"))],
        };
    }

    private static ChatId ChatOf(string chatId)
        => long.TryParse(chatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var numeric) ? numeric : chatId;
}
