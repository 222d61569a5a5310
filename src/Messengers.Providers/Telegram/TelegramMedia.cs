using System.Collections.Concurrent;
using System.Globalization;
using Messengers.Abstractions.Messages;
using Messengers.Providers.Telegram.Updates;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Messengers.Providers.Telegram;

/// <summary>The Bot API method family a file is sent with.</summary>
public enum OutgoingMediaKind
{
    Photo,
    Document,
    Audio,
    Video,
    Voice,
}

/// <summary>
/// Telegram file ids of files in our media store, per instance: a file received or sent once goes out again by its
/// file_id instead of a second upload. A file_id is valid only for the bot that got it and only for the same kind
/// of send, so the kind is kept with it. Bounded: when full, it starts over.
/// </summary>
public sealed class TelegramFileIds
{
    private const int Capacity = 10_000;
    private readonly ConcurrentDictionary<(string InstanceId, string MediaId), (OutgoingMediaKind Kind, string FileId)> _ids = new();

    public void Remember(string instanceId, string mediaId, OutgoingMediaKind kind, string fileId)
    {
        if (_ids.Count >= Capacity)
        {
            _ids.Clear();
        }

        _ids[(instanceId, mediaId)] = (kind, fileId);
    }

    public bool TryGet(string instanceId, string mediaId, OutgoingMediaKind kind, out string fileId)
    {
        if (_ids.TryGetValue((instanceId, mediaId), out var known) && known.Kind == kind)
        {
            fileId = known.FileId;
            return true;
        }

        fileId = "";
        return false;
    }

    public void Forget(string instanceId, string mediaId) => _ids.TryRemove((instanceId, mediaId), out _);

    public void ForgetInstance(string instanceId)
    {
        foreach (var key in _ids.Keys.Where(k => k.InstanceId == instanceId))
        {
            _ids.TryRemove(key, out _);
        }
    }
}

/// <summary>A media reference that names no file of the instance's media store.</summary>
public sealed class MediaNotFoundException : Exception
{
    public MediaNotFoundException() { }
    public MediaNotFoundException(string message) : base(message) { }
    public MediaNotFoundException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Update → stored message, and stored file → Bot API send. Polling and webhook deliveries share the inbound half, so an
/// update is stored alike (and deduped on the same message id) whichever way it came.
/// </summary>
public sealed class TelegramMedia(string instanceId, TelegramBotClient client, IMediaStore media, TelegramFileIds fileIds)
{
    /// <summary>sendPhoto takes at most 10 MB by upload; larger images go as documents.</summary>
    private const long MaxPhotoBytes = 10 * 1024 * 1024;

    /// <summary>The message to store for an update (its media downloaded first); null for updates we do not store.</summary>
    public async Task<Abstractions.Providers.InboundMessage?> ReadAsync(Update update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.MessageReaction is { } reaction)
        {
            return ReactionOf(update.Id, reaction);
        }

        var parsed = UpdateParser.Parse(update);
        if (parsed is null || parsed.Kind is UpdateMessageKind.EditedMessage or UpdateMessageKind.EditedChannelPost or UpdateMessageKind.EditedBusinessMessage)
        {
            return null;
        }

        MediaRef? stored = null;
        var type = MessageTypes.Text;
        if (parsed.Media.Count > 0)
        {
            var reference = parsed.Media[0];
            type = reference.Kind switch
            {
                MediaKind.Photo => MessageTypes.Image,
                MediaKind.Video => MessageTypes.Video,
                MediaKind.Voice => MessageTypes.Voice,
                MediaKind.Audio => MessageTypes.Audio,
                MediaKind.Sticker => MessageTypes.Sticker,
                _ => MessageTypes.Document,
            };
            stored = await DownloadAsync(reference, cancellationToken);
        }

        var chatId = parsed.ChatId.ToString(CultureInfo.InvariantCulture);
        return new Abstractions.Providers.InboundMessage
        {
            MessageId = TelegramProvider.MessageId(parsed.ChatId, parsed.MessageId),
            ChatId = chatId,
            From = parsed.Sender?.Id.ToString(CultureInfo.InvariantCulture),
            Body = parsed.TextOrCaption ?? "",
            Type = type,
            IsGroup = parsed.IsGroup,
            GroupId = parsed.IsGroup ? chatId : null,
            ContactName = parsed.IsGroup ? parsed.ChatTitle : parsed.Sender?.DisplayName,
            ReplyToMessageId = parsed.ReplyToMessageId is { } reply ? TelegramProvider.MessageId(parsed.ChatId, reply) : null,
            Media = stored,
            Timestamp = parsed.Date,
        };
    }

    /// <summary>
    /// A reaction change as a message of type reaction: the user's emojis as body (empty: removed), the message reacted to
    /// as reply. Its id comes from the update id (a reaction has none of its own), so a redelivered update is stored once
    /// and it is not taken for a message number by calls that take one.
    /// </summary>
    private static Abstractions.Providers.InboundMessage ReactionOf(int updateId, MessageReactionUpdated reaction)
    {
        var chatId = reaction.Chat.Id.ToString(CultureInfo.InvariantCulture);
        var isGroup = UpdateParser.GetChatType(reaction.Chat) is ChatType.Group or ChatType.Supergroup;
        var sender = UpdateParser.GetSender(reaction);
        return new Abstractions.Providers.InboundMessage
        {
            MessageId = string.Create(CultureInfo.InvariantCulture, $"{chatId}_reaction{updateId}"),
            ChatId = chatId,
            From = sender?.Id.ToString(CultureInfo.InvariantCulture),
            Body = UpdateParser.ReactionText(reaction),
            Type = MessageTypes.Reaction,
            IsGroup = isGroup,
            GroupId = isGroup ? chatId : null,
            ContactName = isGroup ? reaction.Chat.Title : sender?.DisplayName,
            ReplyToMessageId = TelegramProvider.MessageId(reaction.Chat.Id, reaction.MessageId),
            Timestamp = new DateTimeOffset(DateTime.SpecifyKind(reaction.Date, DateTimeKind.Utc)),
        };
    }

    /// <summary>
    /// Sends a stored file with the method its type calls for: by file_id when Telegram knows it already, else uploaded
    /// as multipart. A file_id Telegram no longer accepts falls back to the upload.
    /// </summary>
    public async Task<Message> SendAsync(ChatId chatId, MediaRef file, string? caption, ParseMode parseMode, ReplyParameters? reply, bool silent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        var kind = KindOf(file);
        if (fileIds.TryGet(instanceId, file.MediaId, kind, out var fileId))
        {
            try
            {
                return await SendAsync(kind, chatId, InputFile.FromFileId(fileId), caption, parseMode, reply, silent, cancellationToken);
            }
            catch (ApiRequestException exception) when (exception.ErrorCode == 400 && exception.Message.Contains("file", StringComparison.OrdinalIgnoreCase))
            {
                fileIds.Forget(instanceId, file.MediaId);
            }
        }

        var opened = await media.OpenAsync(instanceId, file.MediaId, cancellationToken)
            ?? throw new MediaNotFoundException($"Media '{file.MediaId}' is not in the media store of instance '{instanceId}'.");
        await using var content = opened.Content;
        var sent = await SendAsync(kind, chatId, InputFile.FromStream(content, file.FileName ?? DefaultFileName(kind, file.ContentType)), caption, parseMode, reply, silent, cancellationToken);
        if (FileIdOf(sent, kind) is { } id)
        {
            fileIds.Remember(instanceId, file.MediaId, kind, id);
        }

        return sent;
    }

    /// <summary>The send method for a stored file, by its content type (and size, for photos).</summary>
    public static OutgoingMediaKind KindOf(MediaRef file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var type = file.ContentType.Split(';')[0].Trim().ToLowerInvariant();
        return type switch
        {
            "image/jpeg" or "image/jpg" or "image/png" or "image/webp" when file.Size <= MaxPhotoBytes => OutgoingMediaKind.Photo,
            "video/mp4" => OutgoingMediaKind.Video,
            "audio/ogg" or "audio/opus" => OutgoingMediaKind.Voice,
            "audio/mpeg" or "audio/mp3" or "audio/mp4" or "audio/m4a" or "audio/x-m4a" => OutgoingMediaKind.Audio,
            _ => OutgoingMediaKind.Document,
        };
    }

    private async Task<MediaRef?> DownloadAsync(MediaReference reference, CancellationToken cancellationToken)
    {
        var file = await client.GetFile(reference.FileId, cancellationToken);
        if (file.FilePath is not { } path)
        {
            return null; // above the 20 MB download limit: the message is stored without its file
        }

        using var content = new MemoryStream();
        await client.DownloadFile(path, content, cancellationToken);
        content.Position = 0;
        var stored = await media.SaveAsync(instanceId, content, reference.MimeType ?? (reference.Kind == MediaKind.Photo ? "image/jpeg" : "application/octet-stream"), reference.FileName ?? Path.GetFileName(path), cancellationToken);
        OutgoingMediaKind? kind = reference.Kind switch
        {
            MediaKind.Photo => OutgoingMediaKind.Photo,
            MediaKind.Document => OutgoingMediaKind.Document,
            MediaKind.Audio => OutgoingMediaKind.Audio,
            MediaKind.Video => OutgoingMediaKind.Video,
            MediaKind.Voice => OutgoingMediaKind.Voice,
            _ => null,
        };
        if (kind is { } k)
        {
            fileIds.Remember(instanceId, stored.MediaId, k, reference.FileId);
        }

        return stored;
    }

    private Task<Message> SendAsync(OutgoingMediaKind kind, ChatId chatId, InputFile file, string? caption, ParseMode parseMode, ReplyParameters? reply, bool silent, CancellationToken cancellationToken) => kind switch
    {
        OutgoingMediaKind.Photo => client.SendPhoto(chatId, file, caption, parseMode, reply, disableNotification: silent, cancellationToken: cancellationToken),
        OutgoingMediaKind.Audio => client.SendAudio(chatId, file, caption, parseMode, reply, disableNotification: silent, cancellationToken: cancellationToken),
        OutgoingMediaKind.Video => client.SendVideo(chatId, file, caption, parseMode, reply, disableNotification: silent, cancellationToken: cancellationToken),
        OutgoingMediaKind.Voice => client.SendVoice(chatId, file, caption, parseMode, reply, disableNotification: silent, cancellationToken: cancellationToken),
        _ => client.SendDocument(chatId, file, caption, parseMode, reply, disableNotification: silent, cancellationToken: cancellationToken),
    };

    private static string? FileIdOf(Message sent, OutgoingMediaKind kind) => kind switch
    {
        OutgoingMediaKind.Photo => sent.Photo?.MaxBy(s => (long)s.Width * s.Height)?.FileId,
        OutgoingMediaKind.Audio => sent.Audio?.FileId,
        OutgoingMediaKind.Video => sent.Video?.FileId,
        OutgoingMediaKind.Voice => sent.Voice?.FileId,
        _ => sent.Document?.FileId,
    };

    private static string DefaultFileName(OutgoingMediaKind kind, string contentType)
    {
        var subtype = contentType.Split(';')[0].Split('/') is [_, var s] && s.Length is > 0 and <= 10 && s.All(char.IsAsciiLetterOrDigit) ? s : "bin";
        return $"{kind.ToString().ToLowerInvariant()}.{subtype}";
    }
}
