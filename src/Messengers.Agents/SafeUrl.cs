namespace Messengers.Agents;

/// <summary>URLs as they may appear in logs and exception messages: no user info, no query string.</summary>
internal static class SafeUrl
{
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "(invalid URL)";
        }

        var port = uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{uri.Scheme}://{uri.Host}{port}{uri.AbsolutePath}".TrimEnd('/');
    }
}
