using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Messengers.Abstractions.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messengers.Data.Messages;

/// <summary>
/// <see cref="IMediaStore"/> in an S3-compatible bucket: every silo of a cluster configured with the same bucket reads
/// the media any silo stored, whatever the database. A file is the object <c>{prefix}{instanceId}/{mediaId}</c>; its
/// content type is the object's Content-Type, its file name (percent-encoded UTF-8, since S3 metadata is ASCII) and
/// sha256 are user metadata. Same contract as <see cref="FileMediaStore"/>: the same ids, the size limit
/// (<see cref="MediaTooLargeException"/>, nothing stored), visible only once complete.
/// </summary>
/// <remarks>
/// An upload is read whole before it is sent, in memory up to <see cref="S3MediaStoreOptions.MemoryBufferSize"/> and
/// in a temporary file beyond (never more than the size limit), then stored with one PutObject. That makes the size
/// check, the sha256 and the metadata complete before anything exists in the bucket, and PutObject is atomic: there is
/// no half-written object and no abandoned multipart upload to clean up. The price is local disk for large uploads
/// in flight.
/// </remarks>
public sealed class S3MediaStore : IMediaStore, IDisposable
{
    internal const string FileNameMetadata = "file-name";
    internal const string Sha256Metadata = "sha256";

    /// <summary>Leaves room in S3's 2 KB of metadata for the sha256 and the names.</summary>
    internal const int MaxEncodedFileName = 1536;

    private readonly S3MediaStoreOptions _options;
    private readonly AmazonS3Client _client;
    private readonly ILogger _logger;

    public S3MediaStore(S3MediaStoreOptions options, long maxFileSize = FileMediaStore.DefaultMaxFileSize, ILogger<S3MediaStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileSize);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger<S3MediaStore>.Instance;
        MaxFileSize = maxFileSize;
        var config = new AmazonS3Config
        {
            ServiceURL = options.ServiceUrl,
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            // Checksums only where S3 demands them (DeleteObjects): many S3-compatible stores do not know the
            // trailing CRC checksums that SDK v4 otherwise adds to every upload.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        _client = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
        _logger.LogInformation("Media store: S3 at {ServiceUrl}, bucket {Bucket}, prefix {Prefix}, access key {AccessKey}", options.ServiceUrl, options.Bucket, options.Prefix, options.AccessKey);
    }

    public long MaxFileSize { get; }

    public async Task<MediaRef> SaveAsync(string instanceId, Stream content, string contentType, string? fileName, CancellationToken cancellationToken = default)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "key its media");
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);

        var mediaId = MediaIds.New();
        fileName = fileName is null ? null : FitFileName(fileName);
        await using var buffered = await BufferAsync(content, cancellationToken);
        var (body, size, sha256) = buffered;
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = Key(instanceId, mediaId),
            InputStream = body,
            AutoCloseStream = false,
            ContentType = contentType,
        };
        request.Headers.ContentLength = size;
        request.Metadata.Add(Sha256Metadata, sha256);
        if (fileName is not null)
        {
            request.Metadata.Add(FileNameMetadata, EncodeFileName(fileName));
        }

        await CallAsync("storing a media file", () => _client.PutObjectAsync(request, cancellationToken));
        return new MediaRef(mediaId, contentType, fileName, size, sha256);
    }

    public async Task<(Stream Content, MediaRef Media)?> OpenAsync(string instanceId, string mediaId, CancellationToken cancellationToken = default)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "key its media");
        if (!MediaIds.IsMediaId(mediaId))
        {
            return null;
        }

        var key = Key(instanceId, mediaId);
        var response = await GetAsync(key, null, cancellationToken);
        if (response is null)
        {
            return null;
        }

        var fileName = response.Metadata[FileNameMetadata];
        var sha256 = response.Metadata[Sha256Metadata];
        var media = new MediaRef(
            mediaId,
            response.Headers.ContentType ?? "application/octet-stream",
            fileName is null ? null : DecodeFileName(fileName),
            response.Headers.ContentLength,
            string.IsNullOrEmpty(sha256) ? null : sha256);
        return (new S3MediaStream(this, key, media.Size, response), media);
    }

    /// <summary>Lists the instance's keys a page at a time and deletes each page (at most 1000 keys, S3's batch limit).</summary>
    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        MediaIds.RequireSafeInstanceId(instanceId, "key its media");
        var list = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _options.Prefix + instanceId + "/" };
        var deleted = 0;
        while (true)
        {
            var page = await CallAsync("listing an instance's media", () => _client.ListObjectsV2Async(list, cancellationToken));
            var keys = page.S3Objects?.Select(o => new KeyVersion { Key = o.Key }).ToList() ?? [];
            if (keys.Count > 0)
            {
                var delete = new DeleteObjectsRequest { BucketName = _options.Bucket, Objects = keys, Quiet = true };
                var result = await CallAsync("deleting an instance's media", () => _client.DeleteObjectsAsync(delete, cancellationToken));
                if (result.DeleteErrors is { Count: > 0 } errors)
                {
                    throw new MediaStoreException($"The S3 media store ({_options}) did not delete {errors.Count} of {keys.Count} objects of instance {instanceId}, e.g. {errors[0].Key}: {errors[0].Code} {errors[0].Message}");
                }

                deleted += keys.Count;
            }

            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
            {
                break;
            }

            list.ContinuationToken = page.NextContinuationToken;
        }

        _logger.LogInformation("Deleted {Count} media objects of instance {InstanceId} from S3", deleted, instanceId);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The object, from <paramref name="from"/> to its end when given; null when there is none.</summary>
    internal async Task<GetObjectResponse?> GetAsync(string key, long? from, CancellationToken cancellationToken)
    {
        var request = new GetObjectRequest { BucketName = _options.Bucket, Key = key };
        if (from is { } start)
        {
            request.ByteRange = new ByteRange($"bytes={start}-");
        }

        try
        {
            return await _client.GetObjectAsync(request, cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode is "NoSuchKey" or null or "")
        {
            return null;
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or AmazonClientException)
        {
            throw Failure("reading a media file", ex);
        }
    }

    /// <summary>
    /// The file name, shortened (before its extension, whole characters only) until it encodes in
    /// <see cref="MaxEncodedFileName"/> characters: S3 allows 2 KB of user metadata per object, and a long non-ASCII
    /// name grows up to 12-fold when percent-encoded. A shortened name beats a failed upload.
    /// </summary>
    internal static string FitFileName(string fileName)
    {
        if (EncodeFileName(fileName).Length <= MaxEncodedFileName)
        {
            return fileName;
        }

        var extension = Path.GetExtension(fileName);
        if (extension.Length > 16)
        {
            extension = "";
        }

        var stem = new System.Globalization.StringInfo(fileName[..^extension.Length]);
        var keep = stem.LengthInTextElements;
        string candidate;
        do
        {
            keep--;
            candidate = stem.SubstringByTextElements(0, Math.Max(keep, 0)) + extension;
        }
        while (keep > 0 && EncodeFileName(candidate).Length > MaxEncodedFileName);

        return candidate;
    }

    /// <summary>Percent-encoded UTF-8 (RFC 3986): S3 user metadata travels as HTTP headers, which carry ASCII only.</summary>
    internal static string EncodeFileName(string fileName) => Uri.EscapeDataString(fileName);

    internal static string DecodeFileName(string encoded) => Uri.UnescapeDataString(encoded);

    private string Key(string instanceId, string mediaId) => _options.Prefix + instanceId + "/" + mediaId;

    /// <summary>
    /// Reads the upload whole, checking the size limit as it goes: into memory up to the buffer size, then into a
    /// temporary file deleted on close. The returned stream is positioned at 0.
    /// </summary>
    private async Task<BufferedUpload> BufferAsync(Stream content, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var memoryLimit = (int)Math.Min(_options.MemoryBufferSize, MaxFileSize);
        Stream body = new MemoryStream();
        try
        {
            var buffer = new byte[81920];
            long size = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                size += read;
                if (size > MaxFileSize)
                {
                    throw new MediaTooLargeException(MaxFileSize);
                }

                if (body is MemoryStream memory && size > memoryLimit)
                {
                    body = new FileStream(Path.Combine(Path.GetTempPath(), "messengers-s3-" + MediaIds.New() + ".tmp"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
                    memory.Position = 0;
                    await memory.CopyToAsync(body, cancellationToken);
                }

                hash.AppendData(buffer, 0, read);
                await body.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            body.Position = 0;
            return new BufferedUpload(body, size, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch
        {
            await body.DisposeAsync();
            throw;
        }
    }

    private async Task<T> CallAsync<T>(string action, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or AmazonClientException)
        {
            throw Failure(action, ex);
        }
    }

    /// <summary>Says what went wrong in the words of the configuration that can fix it; never includes the secret.</summary>
    private MediaStoreException Failure(string action, Exception ex)
    {
        var hint = ex switch
        {
            AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" } s3 =>
                $"access refused ({s3.ErrorCode}): check {S3MediaStoreOptions.Section}:AccessKey and SecretKey and the bucket's permissions",
            AmazonS3Exception { ErrorCode: "NoSuchBucket" } => $"the bucket does not exist: check {S3MediaStoreOptions.Section}:Bucket",
            AmazonServiceException service => $"the store answered {(int)service.StatusCode} {service.ErrorCode}: {service.Message}",
            _ => $"the store is unreachable: {ex.Message}",
        };
        _logger.LogWarning("S3 media store failed {Action}: {Reason}", action, hint);
        return new MediaStoreException($"The S3 media store ({_options}) failed {action}: {hint}.", ex);
    }

    private sealed record BufferedUpload(Stream Body, long Size, string Sha256) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Body.DisposeAsync();
    }
}
