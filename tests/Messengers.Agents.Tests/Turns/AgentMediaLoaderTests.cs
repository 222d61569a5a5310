using Messengers.Abstractions.Messages;
using Messengers.Agents.Turns;
using Messengers.Data.Messages;

namespace Messengers.Agents.Tests.Turns;

/// <summary>The bridge's media loading against the real file media store in a temporary folder.</summary>
public sealed class AgentMediaLoaderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "agent-media-" + Guid.NewGuid().ToString("N"));
    private readonly FileMediaStore _store;

    public AgentMediaLoaderTests() => _store = new FileMediaStore(_folder);

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private async Task<MediaRef> SaveAsync(byte[] bytes, string contentType, string? fileName) =>
        await _store.SaveAsync("inst-1", new MemoryStream(bytes), contentType, fileName, TestContext.Current.CancellationToken);

    private static ChatMessage Message(string id, MediaRef? media, string type = MessageTypes.Image) =>
        new() { InstanceId = "inst-1", MessageId = id, ChatId = "c1", Body = "", Type = type, Media = media };

    [Fact]
    public async Task Load_StoredMediaOfSeveralMessages_AttachesBytesNamesAndTypesInOrder()
    {
        byte[] photo = [0xFF, 0xD8, 0xFF, 1, 2, 3];
        byte[] voice = "OggS voice"u8.ToArray();
        var photoRef = await SaveAsync(photo, "image/jpeg", null);
        var voiceRef = await SaveAsync(voice, "audio/ogg; codecs=opus", "note.ogg");

        var (attached, omitted) = await AgentMediaLoader.LoadAsync(
            _store,
            [Message("m1", photoRef), Message("m2", null, MessageTypes.Text), Message("m3", voiceRef, MessageTypes.Voice)],
            1024,
            TestContext.Current.CancellationToken);

        Assert.Empty(omitted);
        Assert.Collection(
            attached,
            a =>
            {
                Assert.Equal(("image.jpg", "image/jpeg", photoRef.MediaId), (a.FileName, a.ContentType, a.MediaId));
                Assert.Equal(photo, a.Content);
            },
            a =>
            {
                Assert.Equal(("note.ogg", "audio/ogg; codecs=opus"), (a.FileName, a.ContentType));
                Assert.Equal(voice, a.Content);
            });
    }

    [Fact]
    public async Task Load_TooLargeOrMissingMedia_OmittedWithReasonNotFailing()
    {
        var big = await SaveAsync(new byte[2000], "video/mp4", "clip.mp4");
        var gone = new MediaRef("no-such-media-id-00000", "application/pdf", "offer.pdf", 10);
        var small = await SaveAsync([7, 7], "image/png", "dot.png");

        var (attached, omitted) = await AgentMediaLoader.LoadAsync(
            _store,
            [Message("m1", big, MessageTypes.Video), Message("m2", gone, MessageTypes.Document), Message("m3", small)],
            1000,
            TestContext.Current.CancellationToken);

        Assert.Equal("dot.png", Assert.Single(attached).FileName);
        Assert.Equal(
            [("clip.mp4", 2000L, "larger than the 1000 B limit"), ("offer.pdf", 10L, "the file is no longer stored")],
            omitted.Select(o => (o.FileName, o.Size, o.Reason)));
    }

    [Fact]
    public async Task Load_StoredSizeUnderstated_StopsReadingAtTheLimit()
    {
        var real = await SaveAsync(new byte[3000], "image/png", "huge.png");
        var understated = real with { Size = 10 };

        var (attached, omitted) = await AgentMediaLoader.LoadAsync(_store, [Message("m1", understated)], 1000, TestContext.Current.CancellationToken);

        Assert.Empty(attached);
        Assert.Equal("larger than the 1000 B limit", Assert.Single(omitted).Reason);
    }
}
