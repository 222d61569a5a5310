namespace Messengers.Data.Messages;

/// <summary>
/// Where <see cref="S3MediaStore"/> keeps media (configuration section <c>Messengers:Media:S3</c>): an S3-compatible
/// endpoint (AWS S3, MinIO, Ceph…), one bucket, and a key prefix so that several deployments can share a bucket.
/// </summary>
public sealed class S3MediaStoreOptions
{
    public const string Section = "Messengers:Media:S3";

    /// <summary>The endpoint, e.g. <c>https://s3.eu-central-1.amazonaws.com</c> or <c>http://minio:9000</c>.</summary>
    public string? ServiceUrl { get; set; }

    public string? Bucket { get; set; }

    public string? AccessKey { get; set; }

    /// <summary>Never logged; <see cref="ToString"/> leaves it out.</summary>
    public string? SecretKey { get; set; }

    /// <summary>The signing region; MinIO accepts the default.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary><c>{url}/{bucket}/{key}</c> rather than <c>{bucket}.{host}</c>: what MinIO and most self-hosted stores need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Put before every key: objects are <c>{Prefix}{instanceId}/{mediaId}</c>. Empty, or ending in '/'.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// Uploads up to this many bytes are buffered in memory before they are sent; larger ones go to a temporary file
    /// (at most the store's size limit). 8 MiB by default.
    /// </summary>
    public int MemoryBufferSize { get; set; } = 8 * 1024 * 1024;

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the first missing or invalid setting.</summary>
    public void Validate()
    {
        Require(ServiceUrl, nameof(ServiceUrl));
        if (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"{Section}:{nameof(ServiceUrl)} must be an absolute http or https URL, not '{ServiceUrl}'.");
        }

        Require(Bucket, nameof(Bucket));
        Require(AccessKey, nameof(AccessKey));
        Require(SecretKey, nameof(SecretKey));
        Require(Region, nameof(Region));
        if (Prefix.Length > 0 && (!Prefix.EndsWith('/') || Prefix.StartsWith('/')))
        {
            throw new InvalidOperationException($"{Section}:{nameof(Prefix)} must be empty or end with '/' (and not start with one), not '{Prefix}'.");
        }

        if (MemoryBufferSize is < 64 * 1024 or > 256 * 1024 * 1024)
        {
            throw new InvalidOperationException($"{Section}:{nameof(MemoryBufferSize)} must be between 64 KiB and 256 MiB, not {MemoryBufferSize}.");
        }
    }

    /// <summary>Everything but the secret, for logs and error messages.</summary>
    public override string ToString()
        => $"S3 {ServiceUrl} bucket '{Bucket}' prefix '{Prefix}' (access key {AccessKey}, region {Region}, path style {ForcePathStyle})";

    private static void Require(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException($"{Section} is configured but {Section}:{name} is not set.");
        }
    }
}
