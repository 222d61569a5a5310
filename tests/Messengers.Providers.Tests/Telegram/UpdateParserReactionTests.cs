using Messengers.Providers.Telegram.Updates;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>message_reaction updates as the Bot API sends them (protocols.md §1), read into text and sender.</summary>
public sealed class UpdateParserReactionTests
{
    [Fact]
    public void ReactionText_EmojiPaidAndCustom_AllShownInOrder()
    {
        const string json = """
            {"update_id":900000001,"message_reaction":{"chat":{"id":-1009876543210,"type":"supergroup","title":"Shop"},"message_id":77,
             "user":{"id":4242,"is_bot":false,"first_name":"Ann","last_name":"Lee"},"date":1730000000,
             "old_reaction":[{"type":"emoji","emoji":"👍"}],
             "new_reaction":[{"type":"emoji","emoji":"🔥"},{"type":"paid"},{"type":"custom_emoji","custom_emoji_id":"5368324170671202286"}]}}
            """;

        var reaction = UpdateParser.Deserialize(json)!.MessageReaction!;

        Assert.Equal("🔥⭐[custom_emoji:5368324170671202286]", UpdateParser.ReactionText(reaction));
        Assert.Equal((4242L, "Ann Lee", false), (UpdateParser.GetSender(reaction)!.Id, UpdateParser.GetSender(reaction)!.DisplayName, UpdateParser.GetSender(reaction)!.IsChat));
        Assert.Equal(ChatType.Supergroup, UpdateParser.GetChatType(reaction.Chat));
    }

    [Fact]
    public void ReactionText_RemovedByAnonymousAdmin_EmptyAndSenderIsTheChat()
    {
        const string json = """
            {"update_id":900000002,"message_reaction":{"chat":{"id":-1009876543210,"type":"supergroup","title":"Shop"},"message_id":77,
             "actor_chat":{"id":-1009876543210,"type":"supergroup","title":"Shop"},"date":1730000001,
             "old_reaction":[{"type":"emoji","emoji":"🔥"}],"new_reaction":[]}}
            """;

        var reaction = UpdateParser.Deserialize(json)!.MessageReaction!;

        Assert.Equal("", UpdateParser.ReactionText(reaction));
        var sender = UpdateParser.GetSender(reaction)!;
        Assert.Equal((-1009876543210L, "Shop", true), (sender.Id, sender.DisplayName, sender.IsChat));
    }
}
