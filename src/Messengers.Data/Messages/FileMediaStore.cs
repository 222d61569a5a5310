using System.Security.Cryptography;
using System.Text.Json;
using Messengers.Abstractions.Messages;

namespace Messengers.Data.Messages;

/// <summary>
/// <see cref="IMediaStore"/> in the data folder: <c>{dataPath}/media/{instanceId}/{mediaId}</c> holds the bytes and
/// <c>{mediaId}.json</c> next to it the metadata (content type, file name, size, sha256). Both are written to a
/// temporary file and renamed into place, the sidecar last: a file is visible only once it is complete, and a crash
/// leaves at most an orphan that <see cref="OpenAsync"/> never returns. Media ids are 22 random URL-safe characters.
/// </summary>
public sealed class FileMediaStore : IMediaStore
{
    /// <summary>64 MiB.</summary>
    public const long DefaultMaxFileSize = 64L * 1024 * 1024;

    private const string SidecarExtension = ".json";
    private const string TempExtension = ".tmp";

    public FileMediaStore(string dataPath, long maxFileSize = DefaultMaxFileSize)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataPath);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        RootPath = Path.Combine(Path.GetFullPath(dataPath), "media");
        MaxFileSize = maxFileSize;
    }

    /// <summary>The media folder: <c>{dataPath}/media</c>.</summary>
    public string RootPath { get; }

    public long MaxFileSize { get; }

    public async Task<MediaRef> SaveAsync(string instanceId, Stream content, string contentType, string? fileName, CancellationToken cancellationToken = default)
    {
        var folder = InstanceFolder(instanceId);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        Directory.CreateDirectory(folder);

        var mediaId = MediaIds.New();
        var path = Path.Combine(folder, mediaId);
        var dataTemp = path + "." + MediaIds.New() + TempExtension;
        var sidecarTemp = path + SidecarExtension + "." + MediaIds.New() + TempExtension;
        try
        {
            long size = 0;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(dataTemp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    size += read;
                    if (size > MaxFileSize)
                    {
                        throw new MediaTooLargeException(MaxFileSize);
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }

            var media = new MediaRef(mediaId, contentType, fileName, size, Convert.ToHexStringLower(hash.GetHashAndReset()));
            await File.WriteAllBytesAsync(sidecarTemp, JsonSerializer.SerializeToUtf8Bytes(Sidecar.From(media)), cancellationToken);
            File.Move(dataTemp, path);
            File.Move(sidecarTemp, path + SidecarExtension);
            return media;
        }
        finally
        {
            File.Delete(dataTemp);
            File.Delete(sidecarTemp);
        }
    }

    public async Task<(Stream Content, MediaRef Media)?> OpenAsync(string instanceId, string mediaId, CancellationToken cancellationToken = default)
    {
        var folder = InstanceFolder(instanceId);
        if (!MediaIds.IsMediaId(mediaId))
        {
            return null;
        }

        var path = Path.Combine(folder, mediaId);
        Sidecar? sidecar;
        try
        {
            await using var json = new FileStream(path + SidecarExtension, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
            sidecar = await JsonSerializer.DeserializeAsync<Sidecar>(json, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (sidecar is null)
        {
            return null;
        }

        try
        {
            Stream content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous);
            return (content, sidecar.ToMedia(mediaId));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var folder = InstanceFolder(instanceId);
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// An instance id must be one safe path segment: 1..128 ASCII letters, digits, '-', '_' or '.', and not only dots.
    /// </summary>
    public static bool IsSafeInstanceId(string? instanceId) => MediaIds.IsSafeInstanceId(instanceId);

    private string InstanceFolder(string instanceId)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "name a media folder");
        return Path.Combine(RootPath, instanceId);
    }

    private sealed record Sidecar(
        [property: System.Text.Json.Serialization.JsonPropertyName("content_type")] string ContentType,
        [property: System.Text.Json.Serialization.JsonPropertyName("file_name")] string? FileName,
        [property: System.Text.Json.Serialization.JsonPropertyName("size")] long Size,
        [property: System.Text.Json.Serialization.JsonPropertyName("sha256")] string? Sha256)
    {
        public static Sidecar From(MediaRef media) => new(media.ContentType, media.FileName, media.Size, media.Sha256);

        public MediaRef ToMedia(string mediaId) => new(mediaId, ContentType, FileName, Size, Sha256);
    }
}
