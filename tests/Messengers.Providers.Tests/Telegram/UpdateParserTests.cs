using Messengers.Providers.Telegram.Updates;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Tests.Telegram;

public sealed class UpdateParserTests
{
    [Fact]
    public void DeserializeUpdate_UnknownFieldsAndChatType_Tolerated()
    {
        const string json = """
            {"update_id":800000001,"brand_new_field":{"x":1},
             "message":{"message_id":42,"from":{"id":111,"is_bot":false,"first_name":"Ann","future_flag":true},
              "chat":{"id":-1001234567890,"type":"monoforum","title":"Future"},"date":1730000000,
              "caption":"look","photo":[{"file_id":"small","file_unique_id":"s","width":90,"height":90,"file_size":1000},
                                        {"file_id":"big","file_unique_id":"b","width":1280,"height":720,"file_size":90000}],
              "some_new_object":{"a":[1,2]}}}
            """;

        var update = UpdateParser.Deserialize(json)!;
        var inbound = UpdateParser.Parse(update)!;

        Assert.Equal(800000001, update.Id);
        Assert.False(Enum.IsDefined(update.Message!.Chat.Type)); // the library reads a type it does not know as 0
        Assert.Equal(ChatType.Supergroup, inbound.ChatType);
        Assert.Equal(-1001234567890, inbound.ChatId);
        Assert.Equal("look", inbound.TextOrCaption);
        Assert.Equal("big", Assert.Single(inbound.Media).FileId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1730000000), inbound.Date);
    }

    [Fact]
    public void Parse_EditedMessageWithReply_ReportsKindAndReply()
    {
        const string json = """
            {"update_id":5,"edited_message":{"message_id":9,"date":1,"edit_date":2,
              "chat":{"id":111,"type":"private","first_name":"Ann"},"from":{"id":111,"is_bot":false,"first_name":"Ann","last_name":"Lee"},
              "text":"fixed","reply_to_message":{"message_id":3,"date":1,"chat":{"id":111,"type":"private"}}}}
            """;

        var inbound = UpdateParser.Parse(UpdateParser.Deserialize(json)!)!;

        Assert.Equal(UpdateMessageKind.EditedMessage, inbound.Kind);
        Assert.Equal(3, inbound.ReplyToMessageId);
        Assert.Equal("Ann Lee", inbound.Sender!.DisplayName);
        Assert.True(inbound.IsPrivate);
    }

    [Fact]
    public void Parse_CallbackQuery_ReturnsNull()
    {
        var update = UpdateParser.Deserialize("""{"update_id":6,"callback_query":{"id":"1","from":{"id":1,"is_bot":false,"first_name":"A"},"data":"x"}}""")!;

        Assert.Null(UpdateParser.Parse(update));
        Assert.Equal("x", update.CallbackQuery!.Data);
    }
}
