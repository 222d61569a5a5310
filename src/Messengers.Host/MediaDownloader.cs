using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.StaticFiles;

namespace Messengers.Host;

/// <summary>Configuration section <c>Messengers:MediaDownload</c>: fetching media from URLs given by API and MCP callers.</summary>
public sealed class MediaDownloadOptions
{
    public const string Section = "Messengers:MediaDownload";

    /// <summary>
    /// Whether URLs may point to loopback, private, link-local or carrier-grade NAT addresses. Off in production: a key
    /// holder must not make the gateway fetch from its own network. Tests turn it on to serve files from 127.0.0.1.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>The whole download (connect, headers and body) must finish within this.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Redirects followed; one more answers "too many redirects". Every hop passes the address check.</summary>
    public int MaxRedirects { get; set; } = 3;
}

/// <summary>Why a download was refused or failed; the API maps it to 400, 413, 415 or 422.</summary>
public enum MediaDownloadFailure
{
    /// <summary>Not an absolute http(s) URL, or one pointing into a private network.</summary>
    BadUrl,

    /// <summary>Larger than <see cref="MediaFiles.MaxBytes"/>.</summary>
    TooLarge,

    /// <summary>A type a browser would run (HTML, SVG, scripts) or not media at all.</summary>
    RefusedType,

    /// <summary>The remote did not answer, answered an error status, or too slowly.</summary>
    Failed,
}

/// <summary>A refused or failed download; the message is worded for the caller and names no internals.</summary>
public sealed class MediaDownloadException(MediaDownloadFailure failure, string message) : Exception(message)
{
    public MediaDownloadFailure Failure { get; } = failure;
}

/// <summary>A downloaded file: its bytes, its type (from the server, else from the name) and its name when known.</summary>
public sealed record DownloadedMedia(byte[] Content, string? ContentType, string? FileName);

/// <summary>Size and type rules shared by uploads, base64 bodies and downloads.</summary>
public static class MediaFiles
{
    /// <summary>Largest media file the gateway sends (16 MiB).</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    private static readonly HashSet<string> TopLevelTypes = new(StringComparer.OrdinalIgnoreCase) { "image", "video", "audio", "application", "text" };

    // Types a browser would run when the file is opened from the gateway's origin.
    private static readonly HashSet<string> ActiveTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "application/javascript", "application/ecmascript", "text/xml", "application/xml",
    };

    private static readonly FileExtensionContentTypeProvider Extensions = new();

    /// <summary>The type a file name's extension tells, if any.</summary>
    public static string? TypeOfName(string? fileName)
        => fileName is not null && Extensions.TryGetContentType(fileName, out var type) ? type : null;

    /// <summary>Why media of this type (type/subtype, no parameters) cannot be sent; null when it can.</summary>
    public static string? RefusalOf(string mediaType)
    {
        ArgumentNullException.ThrowIfNull(mediaType);
        var slash = mediaType.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && TopLevelTypes.Contains(mediaType[..slash]) && !ActiveTypes.Contains(mediaType)
            ? null
            : $"Media of type '{mediaType}' cannot be sent; send images, video, audio or documents (not HTML, SVG or scripts).";
    }

    internal static string TooLargeText => $"The media file is larger than {MaxBytes / 1024 / 1024} MiB.";
}

/// <summary>
/// Fetches a media file from a URL for the REST API (<c>media.url</c>) and the MCP tool <c>send_media_message</c>:
/// http(s) only, no private addresses unless configured (checked on the address actually connected to, on every
/// redirect hop), redirects limited, at most <see cref="MediaFiles.MaxBytes"/> counted while streaming, one timeout
/// for the whole download, and HTML, SVG and scripts refused by the type the server declares.
/// </summary>
public sealed class MediaDownloader : IDisposable
{
    private readonly MediaDownloadOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _guarded;
    private readonly HttpClient _trusted;

    public MediaDownloader(MediaDownloadOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _guarded = CreateClient(options, allowPrivateAddresses: options.AllowPrivateAddresses);
        _trusted = CreateClient(options, allowPrivateAddresses: true);
    }

    /// <summary>
    /// Downloads <paramref name="source"/>. A <paramref name="localCaller"/> (the stdio MCP server, run by the machine's
    /// own user) may also name <c>file://</c> paths and private addresses.
    /// </summary>
    /// <exception cref="MediaDownloadException">The URL is refused or the download failed.</exception>
    public async Task<DownloadedMedia> DownloadAsync(string? source, bool localCaller, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(source?.Trim() ?? "", UriKind.Absolute, out var uri))
        {
            throw new MediaDownloadException(MediaDownloadFailure.BadUrl, localCaller
                ? "The source must be an absolute http:// or https:// URL, or a file:// path."
                : "The URL must be an absolute http:// or https:// URL.");
        }

        if (uri.IsFile)
        {
            return localCaller
                ? await ReadFileAsync(uri, cancellationToken)
                : throw new MediaDownloadException(MediaDownloadFailure.BadUrl, "file:// sources are accepted only in stdio mode; over HTTP pass an http:// or https:// URL.");
        }

        if (uri.Scheme is not ("http" or "https"))
        {
            throw new MediaDownloadException(MediaDownloadFailure.BadUrl, $"URLs must use http:// or https://, not {uri.Scheme}:.");
        }

        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await FetchAsync(localCaller ? _trusted : _guarded, uri, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new MediaDownloadException(MediaDownloadFailure.Failed, $"The download from {uri.Host} did not complete within {_options.Timeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException exception)
        {
            throw Unwrap(exception, uri);
        }
    }

    public void Dispose()
    {
        _guarded.Dispose();
        _trusted.Dispose();
    }

    private static async Task<DownloadedMedia> FetchAsync(HttpClient http, Uri uri, CancellationToken ct)
    {
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
        var status = (int)response.StatusCode;
        if (status is >= 300 and < 400)
        {
            throw new MediaDownloadException(MediaDownloadFailure.Failed, $"The URL redirected too often or to a place that is not followed (answer {status} {response.ReasonPhrase}).");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new MediaDownloadException(MediaDownloadFailure.Failed, $"The URL answered {status} {response.ReasonPhrase}.");
        }

        var headers = response.Content.Headers;
        if (headers.ContentLength > MediaFiles.MaxBytes)
        {
            throw new MediaDownloadException(MediaDownloadFailure.TooLarge, MediaFiles.TooLargeText);
        }

        var finalUri = response.RequestMessage?.RequestUri ?? uri;
        var fileName = FileNameOf(headers.ContentDisposition?.FileNameStar ?? headers.ContentDisposition?.FileName) ?? FileNameOf(Uri.UnescapeDataString(finalUri.AbsolutePath));
        var declared = headers.ContentType?.MediaType;
        var type = string.IsNullOrEmpty(declared) || string.Equals(declared, "application/octet-stream", StringComparison.OrdinalIgnoreCase)
            ? MediaFiles.TypeOfName(fileName) ?? declared
            : declared;
        // Refused before reading the body: an HTML error page or a script is never stored.
        if (type is not null && MediaFiles.RefusalOf(type) is { } refusal)
        {
            throw new MediaDownloadException(MediaDownloadFailure.RefusedType, $"The URL served '{type}'. {refusal}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var content = await ReadCappedAsync(body, headers.ContentLength, ct);
        return new DownloadedMedia(content, type, fileName);
    }

    /// <summary>Reads at most <see cref="MediaFiles.MaxBytes"/>; a longer body fails as soon as it passes the limit, whatever its Content-Length said.</summary>
    private static async Task<byte[]> ReadCappedAsync(Stream body, long? declaredLength, CancellationToken ct)
    {
        using var buffer = new MemoryStream(declaredLength is > 0 and <= MediaFiles.MaxBytes ? (int)declaredLength.Value : 0);
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MediaFiles.MaxBytes)
            {
                throw new MediaDownloadException(MediaDownloadFailure.TooLarge, MediaFiles.TooLargeText);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task<DownloadedMedia> ReadFileAsync(Uri uri, CancellationToken ct)
    {
        var info = new FileInfo(uri.LocalPath);
        if (!info.Exists)
        {
            throw new MediaDownloadException(MediaDownloadFailure.Failed, $"File not found: {uri.LocalPath}");
        }

        if (info.Length > MediaFiles.MaxBytes)
        {
            throw new MediaDownloadException(MediaDownloadFailure.TooLarge, MediaFiles.TooLargeText);
        }

        var type = MediaFiles.TypeOfName(info.Name);
        if (type is not null && MediaFiles.RefusalOf(type) is { } refusal)
        {
            throw new MediaDownloadException(MediaDownloadFailure.RefusedType, refusal);
        }

        return new DownloadedMedia(await File.ReadAllBytesAsync(info.FullName, ct), type, info.Name);
    }

    private static string? FileNameOf(string? path)
    {
        var name = string.IsNullOrWhiteSpace(path) ? null : Path.GetFileName(path.Trim().Trim('"'));
        return string.IsNullOrEmpty(name) ? null : name;
    }

    /// <summary>The refusal raised in the connect callback, or a failure naming the host (never the exception's internals).</summary>
    private static MediaDownloadException Unwrap(HttpRequestException exception, Uri uri)
    {
        for (Exception? inner = exception; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case MediaDownloadException refused:
                    return refused;
                case SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain }:
                    return new MediaDownloadException(MediaDownloadFailure.Failed, $"The host '{uri.Host}' cannot be resolved.");
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return new MediaDownloadException(MediaDownloadFailure.Failed, $"The host '{uri.Host}' refused the connection.");
                default:
                    break;
            }
        }

        return new MediaDownloadException(MediaDownloadFailure.Failed, $"The download from '{uri.Host}' failed: {exception.HttpRequestError}.");
    }

    private static HttpClient CreateClient(MediaDownloadOptions options, bool allowPrivateAddresses)
    {
#pragma warning disable CA2000 // the client owns the handler
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = options.MaxRedirects > 0,
            MaxAutomaticRedirections = Math.Max(1, options.MaxRedirects),
            // A proxy would be the address connected to, and the check below would see only it.
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, allowPrivateAddresses, ct),
        };
#pragma warning restore CA2000
        var client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("Messengers-MediaDownloader/1.0");
        return client;
    }

    /// <summary>Resolves the host and connects only when no address is private: checked here, on the address used, so neither a redirect nor a DNS answer that changes between check and use gets around it.</summary>
    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowPrivateAddresses, CancellationToken ct)
    {
        var addresses = IPAddress.TryParse(endPoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endPoint.Host, ct);
        if (!allowPrivateAddresses && (addresses.Length == 0 || addresses.Any(IsPrivate)))
        {
            throw new MediaDownloadException(MediaDownloadFailure.BadUrl, $"The URL's host '{endPoint.Host}' is a loopback or private network address; use a public http(s) URL.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast
            || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        var b = address.GetAddressBytes();
        return b[0] is 0 or 10 or 127 || b[0] >= 224 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127);
    }
}

/// <summary>Registration of <see cref="MediaDownloader"/> with its options from configuration.</summary>
public static class MediaDownloaderServiceCollectionExtensions
{
    public static IServiceCollection AddMediaDownloader(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(MediaDownloadOptions.Section).Get<MediaDownloadOptions>() ?? new MediaDownloadOptions();
        if (options.Timeout <= TimeSpan.Zero || options.MaxRedirects is < 0 or > 20)
        {
            throw new InvalidOperationException($"{MediaDownloadOptions.Section}: Timeout must be positive and MaxRedirects between 0 and 20 (got {options.Timeout}, {options.MaxRedirects}).");
        }

        services.AddSingleton(sp => new MediaDownloader(options, sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
