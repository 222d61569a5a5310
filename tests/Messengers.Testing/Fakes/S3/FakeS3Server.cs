using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Messengers.Testing.Fakes.S3;

/// <summary>
/// An S3-compatible server on 127.0.0.1 (path-style addressing, <c>{url}/{bucket}/{key}</c>) speaking the S3 REST wire
/// protocol for what our store uses: PutObject (plain, UNSIGNED-PAYLOAD and the <c>aws-chunked</c> STREAMING-* bodies,
/// with Content-MD5 and <c>x-amz-checksum-*</c> headers or trailers verified), GetObject with ranges, HeadObject,
/// ListObjectsV2 with continuation tokens, DeleteObjects. Every request must carry a valid AWS Signature Version 4;
/// errors are S3's XML with S3's codes and statuses, and anything it does not implement is refused with 501
/// NotImplemented rather than half-done.
/// </summary>
public sealed class FakeS3Server : IAsyncDisposable
{
    private const int MetadataLimit = 2048;
    private static readonly XNamespace Ns = "http://s3.amazonaws.com/doc/2006-03-01/";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, FakeS3Object>> _buckets = new(StringComparer.Ordinal);
    private readonly List<string> _payloadModes = [];
    private LoopbackHttpServer? _http;

    private FakeS3Server(string accessKey, string secretKey)
    {
        AccessKey = accessKey;
        SecretKey = secretKey;
    }

    public string AccessKey { get; }

    public string SecretKey { get; }

    /// <summary><c>http://127.0.0.1:{port}</c>.</summary>
    public string ServiceUrl => _http!.BaseUrl;

    /// <summary>The most keys one ListObjectsV2 page returns (S3: 1000); lower it to make paging cheap to test.</summary>
    public int MaxKeysLimit { get; set; } = 1000;

    /// <summary>Errors and delays applied to the next requests.</summary>
    public FakeFaults Faults => _http!.Faults;

    /// <summary>The <c>x-amz-content-sha256</c> value of every PUT seen, to tell which payload encoding the client used.</summary>
    public IReadOnlyList<string> PayloadModes
    {
        get
        {
            lock (_lock)
            {
                return [.. _payloadModes];
            }
        }
    }

    public static async Task<FakeS3Server> StartAsync(string accessKey = "fake-access-key", string secretKey = "fake-secret-key/with+chars")
    {
        var server = new FakeS3Server(accessKey, secretKey);
        server._http = await LoopbackHttpServer.StartAsync(server.HandleAsync);
        return server;
    }

    public void CreateBucket(string bucket)
    {
        lock (_lock)
        {
            _buckets.TryAdd(bucket, new SortedDictionary<string, FakeS3Object>(StringComparer.Ordinal));
        }
    }

    /// <summary>The bucket's keys in order (the bucket must exist).</summary>
    public IReadOnlyList<string> Keys(string bucket)
    {
        lock (_lock)
        {
            return [.. _buckets[bucket].Keys];
        }
    }

    public FakeS3Object? Find(string bucket, string key)
    {
        lock (_lock)
        {
            return _buckets.TryGetValue(bucket, out var objects) && objects.TryGetValue(key, out var found) ? found : null;
        }
    }

    /// <summary>Stores an object directly, as another client would have (no request).</summary>
    public void Put(string bucket, string key, byte[] data, string contentType = "application/octet-stream")
    {
        lock (_lock)
        {
            _buckets[bucket][key] = new FakeS3Object(data, contentType, new Dictionary<string, string>(), $"\"{S3Checksums.Md5Hex(data)}\"", DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_http is not null)
        {
            await _http.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart < 0 ? rawTarget : rawTarget[..queryStart];
        var rawQuery = queryStart < 0 ? "" : rawTarget[(queryStart + 1)..];
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            var body = buffer.ToArray();
            var signer = S3SigV4.Verify(context.Request, rawPath, rawQuery, AccessKey, SecretKey);
            var query = S3Query.Parse(rawQuery).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

            var path = Uri.UnescapeDataString(rawPath.TrimStart('/'));
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            var bucket = slash < 0 ? path : path[..slash];
            var key = slash < 0 ? "" : path[(slash + 1)..];
            if (bucket.Length == 0)
            {
                throw NotImplemented("ListBuckets");
            }

            var method = context.Request.Method;
            switch (method)
            {
                case "PUT" when key.Length > 0 && query.Count == 0 && !context.Request.Headers.ContainsKey("x-amz-copy-source"):
                    await PutObjectAsync(context, bucket, key, Payload(context.Request, body, signer));
                    break;
                case "GET" or "HEAD" when key.Length > 0 && query.Count == 0:
                    await GetObjectAsync(context, bucket, key, head: method == "HEAD");
                    break;
                case "GET" when key.Length == 0 && query.TryGetValue("list-type", out var listType) && listType == "2":
                    await ListObjectsV2Async(context, bucket, query);
                    break;
                case "POST" when key.Length == 0 && query.Count == 1 && query.ContainsKey("delete"):
                    await DeleteObjectsAsync(context, bucket, Payload(context.Request, body, signer));
                    break;
                default:
                    throw NotImplemented($"{method} {rawTarget}");
            }
        }
        catch (S3ErrorException error)
        {
            context.Response.StatusCode = error.Status;
            if (context.Request.Method != "HEAD")
            {
                context.Response.ContentType = "application/xml";
                await context.Response.WriteAsync(Xml(new XElement("Error",
                    new XElement("Code", error.Code),
                    new XElement("Message", error.Message),
                    new XElement("Resource", rawPath),
                    new XElement("RequestId", context.TraceIdentifier))));
            }
        }
    }

    /// <summary>The request's payload after its encoding is undone and its signatures and checksums are verified.</summary>
    private byte[] Payload(HttpRequest request, byte[] body, S3SigV4 signer)
    {
        var mode = request.Headers["x-amz-content-sha256"].ToString();
        if (request.Method == "PUT")
        {
            lock (_lock)
            {
                _payloadModes.Add(mode);
            }
        }

        byte[] payload;
        Dictionary<string, string> trailers = new(StringComparer.OrdinalIgnoreCase);
        switch (mode)
        {
            case "UNSIGNED-PAYLOAD":
                payload = body;
                break;
            case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
                (payload, trailers) = Chunked(request, body, signer, withTrailer: false);
                break;
            case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
                (payload, trailers) = Chunked(request, body, signer, withTrailer: true);
                break;
            case "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
                (payload, trailers) = Chunked(request, body, null, withTrailer: true);
                break;
            case { Length: 64 } hex when hex.All(char.IsAsciiHexDigitLower):
                if (S3SigV4.Hex(System.Security.Cryptography.SHA256.HashData(body)) != hex)
                {
                    throw new S3ErrorException(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
                }

                payload = body;
                break;
            default:
                throw new S3ErrorException(400, "InvalidArgument", $"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER or a lower-case SHA-256 hex digest; '{mode}' is not supported here.");
        }

        if (request.Headers.ContentMD5.ToString() is { Length: > 0 } md5 && md5 != S3Checksums.Md5(payload))
        {
            throw new S3ErrorException(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
        }

        var declared = request.Headers["x-amz-trailer"].ToString();
        if (declared.Length > 0 && !trailers.ContainsKey(declared))
        {
            throw new S3ErrorException(400, "InvalidRequest", $"The trailer {declared} announced in x-amz-trailer was not sent.");
        }

        var checksums = request.Headers.Where(h => h.Key.StartsWith("x-amz-checksum-", StringComparison.OrdinalIgnoreCase) && !h.Key.Equals("x-amz-checksum-type", StringComparison.OrdinalIgnoreCase))
            .Select(h => KeyValuePair.Create(h.Key, h.Value.ToString()))
            .Concat(trailers.Where(t => t.Key.StartsWith("x-amz-checksum-", StringComparison.OrdinalIgnoreCase)))
            .ToList();
        foreach (var (name, value) in checksums)
        {
            var algorithm = name["x-amz-checksum-".Length..].ToLowerInvariant();
            var computed = S3Checksums.Compute(algorithm, payload)
                ?? throw NotImplemented($"checksum algorithm {algorithm}");
            if (computed != value)
            {
                throw new S3ErrorException(400, "BadDigest", $"The {algorithm.ToUpperInvariant()} you specified did not match the calculated checksum.");
            }
        }

        return payload;
    }

    private static (byte[] Payload, Dictionary<string, string> Trailers) Chunked(HttpRequest request, byte[] body, S3SigV4? signer, bool withTrailer)
    {
        if (!request.Headers.ContentEncoding.ToString().Contains("aws-chunked", StringComparison.Ordinal))
        {
            throw new S3ErrorException(400, "InvalidArgument", "A STREAMING-* payload needs Content-Encoding: aws-chunked.");
        }

        var decoded = AwsChunkedBody.Decode(body, signer, withTrailer);
        if (!long.TryParse(request.Headers["x-amz-decoded-content-length"].ToString(), CultureInfo.InvariantCulture, out var length))
        {
            throw new S3ErrorException(411, "MissingContentLength", "x-amz-decoded-content-length is required with aws-chunked.");
        }

        if (length != decoded.Payload.Length)
        {
            throw new S3ErrorException(400, "IncompleteBody", $"x-amz-decoded-content-length says {length} bytes; the chunks held {decoded.Payload.Length}.");
        }

        return decoded;
    }

    private async Task PutObjectAsync(HttpContext context, string bucket, string key, byte[] payload)
    {
        var metadata = context.Request.Headers
            .Where(h => h.Key.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(h => h.Key["x-amz-meta-".Length..].ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        if (metadata.Sum(m => Encoding.UTF8.GetByteCount(m.Key) + Encoding.UTF8.GetByteCount(m.Value)) > MetadataLimit)
        {
            throw new S3ErrorException(400, "MetadataTooLarge", $"Your metadata headers exceed the maximum allowed metadata size of {MetadataLimit} bytes.");
        }

        var etag = $"\"{S3Checksums.Md5Hex(payload)}\"";
        var stored = new FakeS3Object(payload, context.Request.ContentType, metadata, etag, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        lock (_lock)
        {
            Bucket(bucket)[key] = stored;
        }

        context.Response.Headers.ETag = etag;
        await context.Response.CompleteAsync();
    }

    private async Task GetObjectAsync(HttpContext context, string bucket, string key, bool head)
    {
        FakeS3Object? found;
        lock (_lock)
        {
            Bucket(bucket).TryGetValue(key, out found);
        }

        if (found is null)
        {
            throw new S3ErrorException(404, "NoSuchKey", "The specified key does not exist.");
        }

        var (start, end) = (0L, found.Data.LongLength - 1);
        var range = context.Request.Headers.Range.ToString();
        if (range.Length > 0)
        {
            (start, end) = ParseRange(range, found.Data.LongLength);
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{end}/{found.Data.LongLength}";
        }

        var response = context.Response;
        response.ContentType = found.ContentType ?? "binary/octet-stream";
        response.ContentLength = end - start + 1;
        response.Headers.ETag = found.ETag;
        response.Headers.LastModified = found.LastModified.ToString("r", CultureInfo.InvariantCulture);
        response.Headers.AcceptRanges = "bytes";
        foreach (var (name, value) in found.Metadata)
        {
            response.Headers["x-amz-meta-" + name] = value;
        }

        if (!head && end >= start)
        {
            await response.Body.WriteAsync(found.Data.AsMemory((int)start, (int)(end - start + 1)), context.RequestAborted);
        }
    }

    private static (long Start, long End) ParseRange(string range, long length)
    {
        const string unit = "bytes=";
        var spec = range.StartsWith(unit, StringComparison.Ordinal) ? range[unit.Length..].Split('-') : [];
        if (spec.Length == 2 && long.TryParse(spec[0], CultureInfo.InvariantCulture, out var start) && start < length)
        {
            var end = spec[1].Length == 0 ? length - 1 : long.TryParse(spec[1], CultureInfo.InvariantCulture, out var last) && last >= start ? Math.Min(last, length - 1) : -1;
            if (end >= 0)
            {
                return (start, end);
            }
        }

        throw new S3ErrorException(416, "InvalidRange", "The requested range is not satisfiable");
    }

    private async Task ListObjectsV2Async(HttpContext context, string bucket, Dictionary<string, string> query)
    {
        foreach (var name in query.Keys)
        {
            if (name is not ("list-type" or "prefix" or "continuation-token" or "max-keys" or "start-after" or "encoding-type" or "fetch-owner"))
            {
                throw NotImplemented($"ListObjectsV2 parameter {name}");
            }
        }

        var urlEncoded = query.TryGetValue("encoding-type", out var encoding) && encoding == "url";
        if (encoding is not (null or "url"))
        {
            throw new S3ErrorException(400, "InvalidArgument", "Invalid Encoding Method specified in Request");
        }

        var prefix = query.GetValueOrDefault("prefix", "");
        var maxKeys = 1000;
        if (query.TryGetValue("max-keys", out var requested) && (!int.TryParse(requested, CultureInfo.InvariantCulture, out maxKeys) || maxKeys < 0))
        {
            throw new S3ErrorException(400, "InvalidArgument", "Provided max-keys not an integer or within integer range");
        }

        maxKeys = Math.Min(maxKeys, MaxKeysLimit);
        var after = query.GetValueOrDefault("start-after", "");
        if (query.TryGetValue("continuation-token", out var token))
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            }
            catch (FormatException)
            {
                throw new S3ErrorException(400, "InvalidArgument", "The continuation token provided is incorrect");
            }
        }

        List<KeyValuePair<string, FakeS3Object>> matching;
        lock (_lock)
        {
            matching = Bucket(bucket)
                .Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(o.Key, after) > 0)
                .Take(maxKeys + 1)
                .ToList();
        }

        var page = matching.Take(maxKeys).ToList();
        var truncated = matching.Count > maxKeys;
        string Encode(string value) => urlEncoded ? S3SigV4.UriEncode(value).Replace("%2F", "/", StringComparison.Ordinal) : value;
        var result = new XElement(Ns + "ListBucketResult",
            new XElement(Ns + "Name", bucket),
            new XElement(Ns + "Prefix", Encode(prefix)),
            new XElement(Ns + "KeyCount", page.Count),
            new XElement(Ns + "MaxKeys", maxKeys),
            urlEncoded ? new XElement(Ns + "EncodingType", "url") : null,
            new XElement(Ns + "IsTruncated", truncated ? "true" : "false"),
            token is null ? null : new XElement(Ns + "ContinuationToken", token),
            truncated ? new XElement(Ns + "NextContinuationToken", Convert.ToBase64String(Encoding.UTF8.GetBytes(page[^1].Key))) : null,
            page.Select(o => new XElement(Ns + "Contents",
                new XElement(Ns + "Key", Encode(o.Key)),
                new XElement(Ns + "LastModified", o.Value.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)),
                new XElement(Ns + "ETag", o.Value.ETag),
                new XElement(Ns + "Size", o.Value.Data.LongLength),
                new XElement(Ns + "StorageClass", "STANDARD"))));
        context.Response.ContentType = "application/xml";
        await context.Response.WriteAsync(Xml(result));
    }

    private async Task DeleteObjectsAsync(HttpContext context, string bucket, byte[] payload)
    {
        // S3 refuses a multi-object delete whose body is not protected by Content-MD5 or a flexible checksum.
        if (!context.Request.Headers.ContainsKey("Content-MD5") && !context.Request.Headers.Keys.Any(h => h.StartsWith("x-amz-checksum-", StringComparison.OrdinalIgnoreCase))
            && context.Request.Headers["x-amz-trailer"].Count == 0)
        {
            throw new S3ErrorException(400, "InvalidRequest", "Missing required header for this request: Content-MD5");
        }

        XDocument document;
        try
        {
            document = XDocument.Parse(Encoding.UTF8.GetString(payload));
        }
        catch (System.Xml.XmlException)
        {
            throw new S3ErrorException(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
        }

        if (document.Root?.Name.LocalName != "Delete")
        {
            throw new S3ErrorException(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
        }

        var objects = document.Root.Elements().Where(e => e.Name.LocalName == "Object").ToList();
        if (objects.Count is 0 or > 1000)
        {
            throw new S3ErrorException(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema (1 to 1000 objects per request)");
        }

        if (objects.Any(o => o.Elements().Any(e => e.Name.LocalName == "VersionId")))
        {
            throw NotImplemented("versioned deletes");
        }

        var quiet = document.Root.Elements().FirstOrDefault(e => e.Name.LocalName == "Quiet")?.Value == "true";
        var keys = objects.Select(o => o.Elements().FirstOrDefault(e => e.Name.LocalName == "Key")?.Value
            ?? throw new S3ErrorException(400, "MalformedXML", "An Object without a Key")).ToList();
        lock (_lock)
        {
            var contents = Bucket(bucket);
            foreach (var key in keys)
            {
                contents.Remove(key); // deleting a missing key succeeds, as in S3
            }
        }

        var result = new XElement(Ns + "DeleteResult", quiet ? null : keys.Select(k => new XElement(Ns + "Deleted", new XElement(Ns + "Key", k))));
        context.Response.ContentType = "application/xml";
        await context.Response.WriteAsync(Xml(result));
    }

    /// <summary>The bucket's objects; the caller holds the lock.</summary>
    private SortedDictionary<string, FakeS3Object> Bucket(string bucket)
        => _buckets.TryGetValue(bucket, out var objects) ? objects : throw new S3ErrorException(404, "NoSuchBucket", "The specified bucket does not exist");

    private static S3ErrorException NotImplemented(string what)
        => new(501, "NotImplemented", $"A header or request you provided implies functionality that is not implemented in this fake S3 server: {what}.");

    private static string Xml(XElement element) => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element.ToString(SaveOptions.DisableFormatting);
}
