using System.Net.Http.Headers;
using System.Text;
using Messengers.Agents.Reliability;

namespace Messengers.Agents.Http;

internal static class AgentHttp
{
    private const int ErrorBodyLimit = 300;

    /// <summary>The longest reply body read, in characters: a guard against runaway streams, far above any messenger's message size.</summary>
    public const int MaxReplyChars = 1 << 20;

    /// <summary>Reads the whole body, failing with <see cref="AgentFailureReason.InvalidReply"/> past <see cref="MaxReplyChars"/>.</summary>
    public static async Task<string> ReadAllAsync(StreamReader reader, CancellationToken ct)
    {
        var text = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer, ct)) > 0)
        {
            text.Append(buffer, 0, read);
            CheckLength(text.Length);
        }

        return text.ToString();
    }

    /// <summary>A reader over the response body in the charset the response declares (UTF-8 when none or unknown).</summary>
    public static async Task<StreamReader> OpenReaderAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var encoding = Encoding.UTF8;
        if (response.Content.Headers.ContentType?.CharSet is { Length: > 0 } charset)
        {
            try
            {
                encoding = Encoding.GetEncoding(charset.Trim('"'));
            }
            catch (ArgumentException)
            {
                // unknown charset: read as UTF-8
            }
        }

        var body = await response.Content.ReadAsStreamAsync(ct);
        return new StreamReader(body, encoding, detectEncodingFromByteOrderMarks: true);
    }

    /// <summary>Throws once <paramref name="charsRead"/> passes <see cref="MaxReplyChars"/>.</summary>
    public static void CheckLength(long charsRead)
    {
        if (charsRead > MaxReplyChars)
        {
            throw new AgentAttemptException(AgentFailureReason.InvalidReply, $"the reply is longer than {MaxReplyChars} characters");
        }
    }

    /// <summary>Adds the bearer key and the endpoint's extra headers.</summary>
    public static void ApplyHeaders(HttpRequestMessage message, AgentEndpoint endpoint)
    {
        if (!string.IsNullOrEmpty(endpoint.ApiKey))
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.ApiKey);
        }

        if (endpoint.Headers is { } headers)
        {
            foreach (var (name, value) in headers)
            {
                message.Headers.Remove(name);
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }

    /// <summary>Joins a base URL and a path with exactly one slash.</summary>
    public static Uri Combine(string baseUrl, string path)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var root) || (root.Scheme != Uri.UriSchemeHttp && root.Scheme != Uri.UriSchemeHttps))
        {
            throw new AgentAttemptException(AgentFailureReason.Misconfigured, "the base URL is not an absolute http(s) URL");
        }

        return path.Length == 0 ? root : new Uri(baseUrl.TrimEnd('/') + "/" + path.TrimStart('/'));
    }

    /// <summary>Throws an <see cref="AgentAttemptException"/> carrying the status, Retry-After and the start of the body for a non-success answer.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException)
        {
            body = "";
        }
        catch (IOException)
        {
            body = "";
        }

        body = body.ReplaceLineEndings(" ").Trim();
        if (body.Length > ErrorBodyLimit)
        {
            body = body[..ErrorBodyLimit] + "…";
        }

        var detail = new StringBuilder().Append("HTTP ").Append(status).Append(' ').Append(response.ReasonPhrase);
        if (body.Length > 0)
        {
            detail.Append(" (").Append(body).Append(')');
        }

        throw new AgentAttemptException(AgentFailureReason.HttpStatus, detail.ToString(), status)
        {
            RetryAfter = response.Headers.RetryAfter,
        };
    }
}
