using Messengers.Abstractions.Messages;
using Messengers.Data.Messages;

namespace Messengers.Data.Tests.Messages;

/// <summary><see cref="MediaStoreContract"/> on files in a temp data folder, and what is particular to files.</summary>
public sealed class FileMediaStoreTests : MediaStoreContract, IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("messengers-media-");

    public void Dispose() => _folder.Delete(recursive: true);

    protected override IMediaStore NewStore(long maxFileSize = FileMediaStore.DefaultMaxFileSize) => new FileMediaStore(_folder.FullName, maxFileSize);

    protected override Task<int> StoredItemCountAsync() => Task.FromResult(AllFiles().Length);

    private string[] AllFiles() => Directory.GetFiles(_folder.FullName, "*", SearchOption.AllDirectories);

    [Fact]
    public async Task SaveAsync_Completed_LeavesOnlyDataAndSidecarNoTempFiles()
    {
        var store = NewStore();
        var media = await store.SaveAsync("inst-1", new MemoryStream(Bytes(5000)), "image/png", "a.png", Cancel);

        Assert.True(File.Exists(Path.Combine(_folder.FullName, "media", "inst-1", media.MediaId)));
        var names = AllFiles().Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal([media.MediaId, media.MediaId + ".json"], names);
    }
}
